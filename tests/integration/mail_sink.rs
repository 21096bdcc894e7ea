//! The real SMTP server the tests read mail from: `scripts/smtp_sink.py` (Debian's
//! python3-aiosmtpd) on a free loopback port, writing every message it accepts to its own
//! folder as `.eml` plus a `.json` with the decoded parts.

use crate::helpers::TempDir;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct MailSink {
    pub port: u16,
    child: Option<Child>,
    dir: TempDir,
}

impl Drop for MailSink {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn(dir: &Path, port: u16) -> (Child, u16) {
    let mut child = Command::new("/usr/bin/python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/smtp_sink.py"))
        .args([
            "--dir",
            &dir.display().to_string(),
            "--port",
            &port.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start scripts/smtp_sink.py (needs Debian's python3-aiosmtpd: scripts/setup.sh)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the mail sink did not start: {line:?}"))
        .parse()
        .unwrap();
    (child, port)
}

impl MailSink {
    pub fn start() -> Self {
        let dir = TempDir::new();
        let (child, port) = spawn(&dir.0, 0);
        Self {
            port,
            child: Some(child),
            dir,
        }
    }

    /// `SMTP_URL` for an app that sends here.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The server goes away (connections are refused) until `restart`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Back on the same port, writing to the same folder.
    pub fn restart(&mut self) {
        self.stop();
        let (child, _) = spawn(&self.dir.0, self.port);
        self.child = Some(child);
    }

    /// Every message received so far, oldest first.
    pub fn mails(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir.0)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    /// The raw messages (`.eml`), for checks on everything that went over the wire.
    pub fn raw(&self) -> Vec<String> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir.0)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
            .collect()
    }

    /// Waits (bounded) until at least `n` messages arrived, and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        crate::helpers::eventually(&format!("{n} mails"), Duration::from_secs(30), || async {
            let mails = self.mails();
            (mails.len() >= n).then_some(mails)
        })
        .await
    }
}

/// A line's value in a calendar file (`SEQUENCE`, `UID`, `METHOD`...).
pub fn ics_field(ics: &str, name: &str) -> Option<String> {
    ics.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_owned())
}
