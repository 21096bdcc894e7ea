//! Meeting passcodes: drawn from the operating system's CSPRNG, shaped to the host's policy.

use crate::server::video::PasscodeRules;
use rand::rngs::OsRng;
use rand::Rng;
use secrecy::SecretString;

/// Zoom's own default length; longer than the usual 6-character policy minimum.
const PREFERRED_LENGTH: u32 = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no passcode can satisfy the host's policy: {0}")]
pub struct Unsatisfiable(pub &'static str);

pub fn generate(rules: &PasscodeRules) -> Result<SecretString, Unsatisfiable> {
    if rules.min_length > rules.max_length {
        return Err(Unsatisfiable(
            "its minimum length exceeds the provider's maximum",
        ));
    }
    if rules.numeric_only && (rules.letter || rules.special || rules.upper_and_lower) {
        return Err(Unsatisfiable(
            "it asks for digits only and for other characters",
        ));
    }
    let length = PREFERRED_LENGTH.clamp(rules.min_length.max(1), rules.max_length) as usize;
    let mut alphabet: Vec<char> = ('0'..='9').collect();
    if !rules.numeric_only {
        alphabet.extend('a'..='z');
        alphabet.extend('A'..='Z');
        if rules.special {
            alphabet.extend(rules.specials.chars());
        }
    }
    // Rejection sampling keeps every accepted passcode uniformly distributed over the ones
    // the policy allows; with these alphabets nearly every draw is accepted.
    for _ in 0..10_000 {
        let candidate: String = (0..length)
            .map(|_| alphabet[OsRng.gen_range(0..alphabet.len())])
            .collect();
        if satisfies(&candidate, rules) {
            return Ok(SecretString::from(candidate));
        }
    }
    Err(Unsatisfiable("no random draw met it"))
}

pub fn satisfies(passcode: &str, rules: &PasscodeRules) -> bool {
    let chars: Vec<char> = passcode.chars().collect();
    let is_special = |c: &char| rules.specials.contains(*c);
    let length_ok = (rules.min_length as usize..=rules.max_length as usize).contains(&chars.len());
    let charset_ok = chars
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || is_special(c));
    let numeric_ok = !rules.numeric_only || chars.iter().all(char::is_ascii_digit);
    let letter_ok = !rules.letter || chars.iter().any(char::is_ascii_alphabetic);
    let number_ok = !rules.number || chars.iter().any(char::is_ascii_digit);
    let special_ok = !rules.special || chars.iter().any(is_special);
    let case_ok = !rules.upper_and_lower
        || (chars.iter().any(char::is_ascii_uppercase)
            && chars.iter().any(char::is_ascii_lowercase));
    length_ok
        && charset_ok
        && numeric_ok
        && letter_ok
        && number_ok
        && special_ok
        && case_ok
        && !has_sequence(&chars, rules.no_sequences_of)
}

/// A run of `n` characters that repeat or count up or down by one ("aaaa", "1234", "dcba").
fn has_sequence(chars: &[char], n: u32) -> bool {
    let n = n as usize;
    if n < 2 || chars.len() < n {
        return false;
    }
    chars.windows(n).any(|run| {
        [0i32, 1, -1].iter().any(|step| {
            run.windows(2)
                .all(|pair| pair[1] as i32 - pair[0] as i32 == *step)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn zoom(rules: PasscodeRules) -> PasscodeRules {
        PasscodeRules {
            max_length: 10,
            specials: "@-_*",
            ..rules
        }
    }

    #[test]
    fn every_passcode_meets_a_strict_policy() {
        let rules = zoom(PasscodeRules {
            min_length: 8,
            letter: true,
            number: true,
            special: true,
            upper_and_lower: true,
            no_sequences_of: 4,
            ..Default::default()
        });
        for _ in 0..500 {
            let passcode = generate(&rules).unwrap();
            let passcode = passcode.expose_secret();
            assert!(satisfies(passcode, &rules), "{passcode}");
            assert!(passcode.len() <= 10);
        }
    }

    #[test]
    fn numeric_policies_get_digits_only() {
        let rules = zoom(PasscodeRules {
            min_length: 6,
            numeric_only: true,
            ..Default::default()
        });
        let passcode = generate(&rules).unwrap();
        assert!(passcode.expose_secret().chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn passcodes_differ_between_draws() {
        let rules = zoom(PasscodeRules::default());
        let a = generate(&rules).unwrap();
        let b = generate(&rules).unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn impossible_policies_are_reported_not_looped_on() {
        let too_long = zoom(PasscodeRules {
            min_length: 11,
            ..Default::default()
        });
        assert!(generate(&too_long).is_err());
        let contradictory = zoom(PasscodeRules {
            numeric_only: true,
            letter: true,
            ..Default::default()
        });
        assert!(generate(&contradictory).is_err());
    }

    #[test]
    fn sequences_are_detected() {
        assert!(has_sequence(&"ab1234x".chars().collect::<Vec<_>>(), 4));
        assert!(has_sequence(&"zzzz".chars().collect::<Vec<_>>(), 4));
        assert!(has_sequence(&"x9876".chars().collect::<Vec<_>>(), 4));
        assert!(!has_sequence(&"a1b2c3d4".chars().collect::<Vec<_>>(), 4));
    }
}
