//! Model-based and crash campaigns for the meeting worker: random interleavings of booking,
//! rescheduling, changing doctor, cancelling, process crashes (SIGKILL, leases left held),
//! answers lost after Zoom acted, timeouts and lease expiry, against the simulator. After each
//! quiescence the model is held against Zoom: exactly one live meeting per uncancelled visit,
//! none for cancelled ones, each with the visit's latest start, length and doctor.
//!
//! Seeded: the seed is printed, and `MODEL_SEED=<n>` replays a run. Size knobs:
//! `MODEL_STEPS` (default 2,000), `CRASH_VISITS` / `CRASH_KILLS` (defaults 200 / 50).

use crate::fixtures::*;
use crate::helpers::*;
use crate::sim::Sim;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Client;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Short timeouts so a lease left by a killed process expires within seconds
/// (lease >= 4 x timeout + 7).
const QUICK: [(&str, &str); 4] = [
    ("ZOOM_REQUEST_TIMEOUT_SECS", "1"),
    ("MEETING_JOB_LEASE_SECS", "11"),
    ("MEETING_RETRY_MAX_SECS", "1"),
    ("MEETING_WORKERS", "8"),
];

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seed() -> u64 {
    let seed = knob("MODEL_SEED", rand::random::<u32>() as u64);
    eprintln!("model seed: {seed} (replay with MODEL_SEED={seed})");
    seed
}

/// What the app holds about one visit, as the model expects Zoom to mirror it.
#[derive(Debug, Clone)]
struct Expected {
    doctor: usize,
    cancelled: bool,
}

/// The campaign's world: the app (restarted after each crash), Zoom, two doctors.
struct World {
    sim: Sim,
    app: Option<TestApp>,
    env: Vec<(String, String)>,
    database_url: String,
    reception: Client,
    doctors: [(i64, &'static str); 2],
    patient: i64,
    visits: HashMap<String, Expected>,
    kills: u64,
    faulty: bool,
}

impl World {
    async fn new() -> World {
        let sim = Sim::start();
        sim.allow_bursts().await;
        sim.control("config", json!({ "daily_meeting_limit": 1_000_000 }))
            .await;
        let env = app_env(&sim, &QUICK);
        let app = spawn_app_with(&pairs(&env)).await;
        let admin = app.logged_in(ADMIN).await;
        let reception = app.logged_in(RECEPTIONIST).await;
        let ada = app.logged_in(DOCTOR).await;
        connect_as(&app, &sim, &ada, "zu_ada").await;
        let (grace_id, grace) = create_user(
            &app,
            &admin,
            "grace@clinic.example",
            "doctor",
            "America/New_York",
        )
        .await;
        connect_as(&app, &sim, &grace, "zu_grace").await;
        let doctors = [
            (user_id(&app, &admin, DOCTOR.0).await, "zu_ada"),
            (grace_id, "zu_grace"),
        ];
        let patient = user_id(&app, &admin, PATIENT.0).await;
        let database_url = app.database_url.clone();
        World {
            sim,
            app: Some(app),
            env,
            database_url,
            reception,
            doctors,
            patient,
            visits: HashMap::new(),
            kills: 0,
            faulty: false,
        }
    }

    fn app(&self) -> &TestApp {
        self.app.as_ref().expect("the app is running")
    }

    /// SIGKILL mid-work, then a new process on the same database (sessions survive).
    async fn crash(&mut self) {
        let dir = self.app.take().unwrap().stop();
        self.kills += 1;
        let app = spawn_app_on(dir, self.database_url.clone(), &pairs(&self.env)).await;
        self.app = Some(app);
    }

    async fn faults(&mut self, on: bool) {
        self.faulty = on;
        let faults = if on {
            json!({ "error_rate": 0.2, "error_kinds": [
                "500", "503", "429", "timeout",
                "500-after-apply", "lost-after-apply", "reset-after-apply"
            ] })
        } else {
            json!({})
        };
        self.sim.control("faults", faults).await;
    }

    fn live_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .visits
            .iter()
            .filter(|(_, v)| !v.cancelled)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    async fn book(&mut self, rng: &mut StdRng) {
        let doctor = rng.gen_range(0..2);
        let start = local_in(rng.gen_range(60..60 * 24 * 20), "Europe/Berlin");
        let length = rng.gen_range(2..=12u32) * 5;
        let (doctor_id, patient) = (self.doctors[doctor].0.to_string(), self.patient.to_string());
        let length_text = length.to_string();
        let response = self
            .app()
            .book_visit(
                &self.reception,
                &[
                    ("doctor_id", doctor_id.as_str()),
                    ("patient_id", patient.as_str()),
                    ("start", start.as_str()),
                    ("zone", "Europe/Berlin"),
                    ("duration", length_text.as_str()),
                ],
            )
            .await;
        if response.status() == 200 {
            let id = response.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            self.visits.insert(
                id,
                Expected {
                    doctor,
                    cancelled: false,
                },
            );
        } else {
            // A patient's caps (open visits, daily changes) may refuse; nothing changed.
            assert!(
                [409, 429].contains(&response.status().as_u16()),
                "booking answered {}",
                response.status()
            );
        }
    }

    async fn change(&mut self, rng: &mut StdRng) {
        let live = self.live_ids();
        if live.is_empty() {
            return self.book(rng).await;
        }
        let id = live[rng.gen_range(0..live.len())].clone();
        match rng.gen_range(0..3) {
            0 => {
                let start = local_in(rng.gen_range(60..60 * 24 * 20), "Europe/Berlin");
                let length = rng.gen_range(2..=12u32) * 5;
                let response = self
                    .app()
                    .reschedule_visit(&self.reception, &id, &start, "Europe/Berlin", length)
                    .await;
                assert!(
                    [200, 409, 429].contains(&response.status().as_u16()),
                    "reschedule answered {}",
                    response.status()
                );
            }
            1 => {
                let expected = self.visits[&id].clone();
                let other = 1 - expected.doctor;
                let response = self
                    .app()
                    .change_doctor(&self.reception, &id, self.doctors[other].0)
                    .await;
                if response.status() == 200 {
                    self.visits.get_mut(&id).unwrap().doctor = other;
                }
            }
            _ => {
                let response = self.app().cancel_visit(&self.reception, &id).await;
                assert_eq!(response.status(), 200);
                self.visits.get_mut(&id).unwrap().cancelled = true;
            }
        }
    }

    /// Faults off, then waits (bounded) until every visit's Zoom work is done: no job left
    /// and every meeting ready or cancelled (read from the database: the list page shows at
    /// most 500 visits).
    async fn quiesce(&mut self) {
        self.faults(false).await;
        let started = Instant::now();
        loop {
            let (jobs, unsettled) = (
                database_count(self.app(), "SELECT COUNT(*) AS n FROM meeting_jobs").await,
                database_count(
                    self.app(),
                    "SELECT COUNT(*) AS n FROM meetings WHERE state NOT IN ('ready', 'cancelled')",
                )
                .await,
            );
            if jobs == 0 && unsettled == 0 {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "not quiet after 90 s: {jobs} jobs, {unsettled} meetings not settled"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The model against Zoom: one live meeting per uncancelled visit (by its marker), none
    /// for cancelled ones, each on the right doctor's Zoom user with the visit's latest time.
    async fn check(&self, seed: u64) {
        use sqlx::Row;
        let sql = "SELECT a.public_id, a.status, a.starts_at, a.duration_minutes, m.marker \
                   FROM appointments a JOIN meetings m ON m.appointment_id = a.id";
        let mut conn = database(self.app()).await;
        let rows: Vec<(String, String, i64, i64, String)> = sqlx::query(sql)
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect();
        let meetings = live_meetings(&self.sim).await;
        let mut by_marker: HashMap<String, Vec<&Value>> = HashMap::new();
        for m in &meetings {
            let agenda = m["agenda"].as_str().unwrap_or_default();
            let marker = agenda.rsplit(' ').next().unwrap_or_default().to_owned();
            by_marker.entry(marker).or_default().push(m);
        }
        let mut known = HashSet::new();
        for (id, status, starts_at, minutes, marker) in rows {
            known.insert(marker.clone());
            let expected = &self.visits[&id];
            let found = by_marker.get(&marker).cloned().unwrap_or_default();
            if expected.cancelled {
                assert_eq!(status, "cancelled", "seed {seed}: {id}");
                assert!(
                    found.is_empty(),
                    "seed {seed}: cancelled {id} still at Zoom"
                );
                continue;
            }
            assert_eq!(
                found.len(),
                1,
                "seed {seed}: {id} has {} meetings",
                found.len()
            );
            let start = chrono::DateTime::from_timestamp(starts_at, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            assert_eq!(found[0]["start_time"], start, "seed {seed}: {id} start");
            assert_eq!(found[0]["duration"], minutes, "seed {seed}: {id} length");
            assert_eq!(
                found[0]["host_id"], self.doctors[expected.doctor].1,
                "seed {seed}: {id} doctor"
            );
        }
        let strays: Vec<_> = by_marker.keys().filter(|m| !known.contains(*m)).collect();
        assert!(
            strays.is_empty(),
            "seed {seed}: meetings of no visit: {strays:?}"
        );
    }
}

#[tokio::test]
async fn random_interleavings_keep_exactly_one_meeting_per_visit_with_its_latest_time() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let steps = knob("MODEL_STEPS", 2000);
    let mut world = World::new().await;
    let mut checks = 0;
    for step in 0..steps {
        // Per mille: 30% book, 57% change (reschedule / change doctor / cancel), 10% faults
        // on or off, 0.2% crash (each leaves leases to expire: 11 s), the rest quiescence
        // and a check against Zoom.
        match rng.gen_range(0..1000) {
            0..=299 => world.book(&mut rng).await,
            300..=869 => world.change(&mut rng).await,
            // Faults on or off: timeouts, answers lost after Zoom acted, resets.
            870..=969 => {
                let on = !world.faulty;
                world.faults(on).await
            }
            // A crash leaves leases held until they expire.
            970..=971 => world.crash().await,
            _ => {
                world.quiesce().await;
                world.check(seed).await;
                checks += 1;
            }
        }
        // Every run crashes at least once, however small its size.
        if step == steps / 2 && world.kills == 0 {
            world.crash().await;
        }
        if step % 250 == 249 {
            eprintln!(
                "step {} of {steps}: {} visits, {} crashes, {checks} checks",
                step + 1,
                world.visits.len(),
                world.kills
            );
        }
    }
    world.quiesce().await;
    world.check(seed).await;
    eprintln!(
        "model: {steps} steps, {} visits, {} crashes, {} checks, {} faults, seed {seed}",
        world.visits.len(),
        world.kills,
        checks + 1,
        world.sim.counter("faults_injected").await
    );
    assert!(
        checks > 0 && world.kills > 0,
        "the campaign exercised its steps"
    );
}

#[tokio::test]
async fn fifty_kills_while_200_visits_change_under_20_percent_faults_lose_nothing() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let (visits, kills) = (knob("CRASH_VISITS", 200), knob("CRASH_KILLS", 50));
    let mut world = World::new().await;
    world.faults(true).await;
    let per_kill = (visits * 2 / kills.max(1)).max(1);
    let mut operations = 0;
    while world.visits.len() < visits as usize || world.kills < kills {
        if world.visits.len() < visits as usize {
            world.book(&mut rng).await;
        } else {
            world.change(&mut rng).await;
        }
        operations += 1;
        if operations % per_kill == 0 && world.kills < kills {
            // A random moment: let some work get under way first.
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..300))).await;
            world.crash().await;
            world.faults(true).await;
        }
    }
    world.quiesce().await;
    world.check(seed).await;
    let faults = world.sim.counter("faults_injected").await;
    eprintln!(
        "crash campaign: {} visits, {operations} operations, {} kills, {faults} faults, seed {seed}: every invariant held",
        world.visits.len(),
        world.kills
    );
    assert_eq!(world.kills, kills);
    assert!(faults > 0);
}
