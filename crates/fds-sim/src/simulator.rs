//! The simulator: a time-ordered queue of agents, each holding only its next event time.
//!
//! Agents are legit subscribers (memoryless, one pending time each), fraud actors (a
//! planned script, popped one event at a time), one arrival process per fraud family
//! and one for new legit subscriptions. Memory is the population plus the scripts of the
//! actors active at the time, plus the ground truth (which grows by a few lines per actor).

use crate::config::{SimConfig, MAX_SUBSCRIBERS};
use crate::draft::Draft;
use crate::families;
use crate::legit::{self, Legit, SIGNUPS_PER_SUBSCRIBER_DAY};
use crate::rhythm::{Profile, DAY, HOUR};
use crate::truth::{Family, Truth, TruthLine, Victim};
use crate::world::World;
use fds_core::Timestamp;
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The opening cohort of each family starts within this long after the start.
const COHORT_SPREAD_S: i64 = 6 * HOUR;

/// Who acts at a queued time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Agent {
    /// Index into `legit`.
    Legit(u32),
    /// Index into `scripts`.
    Actor(u32),
    /// Index into `Family::ALL`: the next actor of that family appears.
    Arrival(u8),
    /// A new legit identity opens lines.
    Signup,
}

/// When the actors of one family appear.
struct Arrivals {
    /// The opening cohort's remaining start times, latest first.
    cohort: Vec<i64>,
    per_day: f64,
}

/// An endless, deterministic stream of contract events (as JSON objects) with labelled
/// fraud actors. Events come in non-decreasing `occurred_at` order; event ids are
/// `sim-<seed>-<n>`, `n` counting from 1. Telecom events (`source` `system_a`) are
/// timestamped in KST (`+09:00`), payments (`source` `payment_api`) in UTC.
///
/// Actors keep appearing for as long as the stream is read (see
/// [`SimConfig::actors_per_family`]); [`Simulator::truth`] lists every actor introduced
/// so far, which always includes every actor whose events have been returned.
pub struct Simulator {
    config: SimConfig,
    world: World,
    regular: Profile,
    night_owl: Profile,
    legit: Vec<Legit>,
    /// Actor scripts, earliest draft last; an empty script is a free slot.
    scripts: Vec<Vec<Draft>>,
    free_scripts: Vec<u32>,
    arrivals: Vec<Arrivals>,
    signups_per_day: f64,
    queue: BinaryHeap<Reverse<(i64, u64, Agent)>>,
    /// Tie-breaker: agents due at the same second act in the order they were queued.
    queued: u64,
    emitted: u64,
    /// The time of the last event returned.
    clock: i64,
    truth: Truth,
    actors_per_family: [u64; 6],
}

impl Simulator {
    pub fn new(config: SimConfig) -> Simulator {
        let population = config.subscribers.min(MAX_SUBSCRIBERS) as u32;
        let per_family = config.actors_per_family();
        let victims_per_actor =
            if per_family == 0 { 0.0 } else { config.victims() as f64 / per_family as f64 };
        let start = config.start.timestamp();
        let world = World::new(config.seed, population, victims_per_actor);
        let mut sim = Simulator {
            world,
            regular: Profile::regular(),
            night_owl: Profile::night_owl(),
            legit: Vec::with_capacity(population as usize),
            scripts: Vec::new(),
            free_scripts: Vec::new(),
            arrivals: Vec::new(),
            signups_per_day: (f64::from(population) * SIGNUPS_PER_SUBSCRIBER_DAY).max(1.0),
            queue: BinaryHeap::with_capacity(population as usize + 16),
            queued: 0,
            emitted: 0,
            clock: start,
            truth: Truth::new(),
            actors_per_family: [0; 6],
            config,
        };
        for line in 0..population {
            // The population's handsets are IMEI serials 0..population.
            let person = Legit::new(&mut sim.world, line, u64::from(line));
            sim.legit.push(person);
            sim.schedule_legit(line, start);
        }
        for i in 0..Family::ALL.len() {
            let mut cohort: Vec<i64> =
                (0..per_family).map(|_| start + sim.world.secs(0, COHORT_SPREAD_S)).collect();
            cohort.sort_unstable_by(|a, b| b.cmp(a));
            let first = cohort.pop();
            sim.arrivals.push(Arrivals { cohort, per_day: per_family as f64 });
            if let Some(first) = first {
                sim.push(first, Agent::Arrival(i as u8));
            }
        }
        let first_signup = sim.regular.advance(start, sim.world.exp(DAY as f64 / sim.signups_per_day));
        sim.push(first_signup, Agent::Signup);
        sim
    }

    /// The ground truth so far: every actor introduced up to the last event returned
    /// (with all its lines, also those it opens later) and every victim chosen.
    pub fn truth(&self) -> &Truth {
        &self.truth
    }

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// How many events have been returned.
    pub fn emitted(&self) -> u64 {
        self.emitted
    }

    /// The `occurred_at` of the last event returned (the start before the first).
    pub fn clock(&self) -> Timestamp {
        chrono::DateTime::from_timestamp(self.clock, 0).unwrap_or(self.config.start)
    }

    fn push(&mut self, at: i64, agent: Agent) {
        self.queued += 1;
        self.queue.push(Reverse((at, self.queued, agent)));
    }

    /// Queues legit subscriber `index`'s next event after `after`.
    fn schedule_legit(&mut self, index: u32, after: i64) {
        let Some(person) = self.legit.get(index as usize) else { return };
        let profile = if person.night_owl { &self.night_owl } else { &self.regular };
        let mean_gap = DAY as f64 / person.daily_rate();
        let at = profile.advance(after, self.world.exp(mean_gap));
        self.push(at, Agent::Legit(index));
    }

    /// Introduces the next actor of family `index` at `at` and queues the one after.
    fn introduce(&mut self, index: u8, at: i64) {
        let Some(&family) = Family::ALL.get(usize::from(index)) else { return };
        let plan = families::plan(family, &mut self.world, at);
        let (lines, victims, script) = plan.into_stack();
        self.actors_per_family[usize::from(index)] += 1;
        let actor = format!("{}-{}", family.as_str(), self.actors_per_family[usize::from(index)]);
        for line in lines {
            let subscriber = self.world.ids.msisdn(line);
            self.truth.insert_line(TruthLine { subscriber, family, actor: actor.clone() });
        }
        for victim in victims {
            let subscriber = self.world.ids.msisdn(victim);
            self.truth.insert_victim(Victim { subscriber, victim_of: actor.clone() });
        }
        self.start_script(script);

        let Some(arrivals) = self.arrivals.get_mut(usize::from(index)) else { return };
        let next = match arrivals.cohort.pop() {
            Some(next) => Some(next),
            None if arrivals.per_day > 0.0 => {
                let mean_gap = DAY as f64 / arrivals.per_day;
                Some(at + self.world.exp(mean_gap) as i64)
            }
            None => None,
        };
        if let Some(next) = next {
            self.push(next, Agent::Arrival(index));
        }
    }

    fn start_script(&mut self, script: Vec<Draft>) {
        let Some(first) = script.last().map(|d| d.at) else { return };
        let slot = match self.free_scripts.pop() {
            Some(slot) => {
                self.scripts[slot as usize] = script;
                slot
            }
            None => {
                self.scripts.push(script);
                (self.scripts.len() - 1) as u32
            }
        };
        self.push(first, Agent::Actor(slot));
    }

    fn sign_up(&mut self, at: i64) {
        let signup = legit::signup(&mut self.world, at);
        let mut script = signup.drafts;
        script.sort_by_key(|d| Reverse(d.at));
        self.start_script(script);
        for (person, first) in signup.newcomers {
            self.legit.push(person);
            let index = (self.legit.len() - 1) as u32;
            self.push(first, Agent::Legit(index));
        }
        let next = self.regular.advance(at, self.world.exp(DAY as f64 / self.signups_per_day));
        self.push(next, Agent::Signup);
    }

    fn emit(&mut self, mut draft: Draft) -> Value {
        // Every draft is planned at or after the moment its agent was queued; the clamp
        // only guarantees the order even if a plan ever broke that.
        draft.at = draft.at.max(self.clock);
        self.clock = draft.at;
        self.emitted += 1;
        let event_id = format!("sim-{}-{}", self.config.seed, self.emitted);
        draft.render(event_id, &self.world.ids)
    }

    #[cfg(test)]
    pub(crate) fn legit_subscribers(&self) -> impl Iterator<Item = String> + '_ {
        self.legit.iter().map(|l| self.world.ids.msisdn(l.line))
    }
}

impl Iterator for Simulator {
    type Item = Value;

    /// The next event. The stream never ends: legit subscribers always act again.
    fn next(&mut self) -> Option<Value> {
        loop {
            let Reverse((at, _, agent)) = self.queue.pop()?;
            match agent {
                Agent::Legit(index) => {
                    let Some(person) = self.legit.get_mut(index as usize) else { continue };
                    let draft = person.act(&mut self.world, at);
                    self.schedule_legit(index, at);
                    return Some(self.emit(draft));
                }
                Agent::Actor(slot) => {
                    let Some(script) = self.scripts.get_mut(slot as usize) else { continue };
                    let Some(draft) = script.pop() else { continue };
                    match script.last().map(|d| d.at) {
                        Some(next) => self.push(next, agent),
                        None => {
                            *script = Vec::new();
                            self.free_scripts.push(slot);
                        }
                    }
                    return Some(self.emit(draft));
                }
                Agent::Arrival(index) => self.introduce(index, at),
                Agent::Signup => self.sign_up(at),
            }
        }
    }
}

#[cfg(test)]
mod tests;
