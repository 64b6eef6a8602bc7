//! Fraud actors, one file per family. Each file's doc says how its family shows up in
//! events; `plan` writes one actor's whole script when the actor is introduced (a few
//! dozen to a few hundred drafts, freed as they are emitted), including events that
//! other subscribers make because of it (a handset buyer, phishing victims).

pub(crate) mod carrier_billing_abuse;
pub(crate) mod handset_fraud;
pub(crate) mod identity_theft;
pub(crate) mod irsf;
pub(crate) mod sim_swap_takeover;
pub(crate) mod voice_phishing;

use crate::draft::{Body, Draft};
use crate::ids::Line;
use crate::rhythm::{in_kst_hours, next_kst_hour, HOUR};
use crate::truth::Family;
use crate::world::World;
use fds_core::Direction;

/// One actor's script.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// The actor's own lines (what the truth lists).
    pub(crate) lines: Vec<Line>,
    /// Legit subscribers it defrauds (voice phishing only).
    pub(crate) victims: Vec<Line>,
    drafts: Vec<Draft>,
}

impl Plan {
    pub(crate) fn push(&mut self, at: i64, line: Line, body: Body) {
        self.drafts.push(Draft::new(at, line, body));
    }

    pub(crate) fn push_draft(&mut self, draft: Draft) {
        self.drafts.push(draft);
    }

    /// The drafts as a stack: the earliest last, so emission pops from the end. Drafts
    /// planned for the same second keep the order they were planned in.
    pub(crate) fn into_stack(mut self) -> (Vec<Line>, Vec<Line>, Vec<Draft>) {
        self.drafts.sort_by_key(|d| d.at);
        self.drafts.reverse();
        (self.lines, self.victims, self.drafts)
    }

    #[cfg(test)]
    pub(crate) fn drafts(&self) -> &[Draft] {
        &self.drafts
    }
}

/// Plans one actor of `family` whose first event is at or after `t0`.
pub(crate) fn plan(family: Family, w: &mut World, t0: i64) -> Plan {
    match family {
        Family::IdentityTheft => identity_theft::plan(w, t0),
        Family::HandsetFraud => handset_fraud::plan(w, t0),
        Family::VoicePhishing => voice_phishing::plan(w, t0),
        Family::SimSwapTakeover => sim_swap_takeover::plan(w, t0),
        Family::CarrierBillingAbuse => carrier_billing_abuse::plan(w, t0),
        Family::Irsf => irsf::plan(w, t0),
    }
}

/// `t` if it is already between 00:00 and 04:00 KST, else a moment in the first three
/// hours of the next night.
pub(crate) fn next_night(w: &mut World, t: i64) -> i64 {
    if in_kst_hours(t, 0, 4) {
        t
    } else {
        next_kst_hour(t, 0) + w.secs(0, 3 * HOUR)
    }
}

/// `t` if it is within office hours (09:00-19:00 KST), else early in the next ones.
pub(crate) fn next_office_hours(w: &mut World, t: i64) -> i64 {
    if in_kst_hours(t, 9, 19) {
        t
    } else {
        next_kst_hour(t, 9) + w.secs(0, 3 * HOUR)
    }
}

/// An unremarkable call or SMS with a stranger (what a line does now and then).
pub(crate) fn ordinary_contact(w: &mut World, at: i64, line: Line) -> Draft {
    let other = w.stranger();
    let direction = if w.chance(0.5) { Direction::Out } else { Direction::In };
    let body = if w.chance(0.5) {
        let duration_s = w.secs(20, 300);
        let cell = Some(w.below(50_000) as u16);
        Body::Call { other, direction, duration_s, forwarded: None, cell }
    } else {
        Body::Sms { other, direction, contains_url: false }
    };
    Draft::new(at, line, body)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the per-family tests: plan many actors and look at their drafts.

    use super::*;

    /// 2026-03-02T00:00:00+09:00.
    pub(crate) const MONDAY: i64 = 1_772_377_200;

    pub(crate) fn actors(family: Family, n: usize) -> Vec<Plan> {
        let mut w = World::new(11, 1_000, 1.0);
        (0..n).map(|i| plan(family, &mut w, MONDAY + i as i64 * 4_000)).collect()
    }

    pub(crate) fn payments(p: &Plan, line: Line) -> Vec<(i64, crate::draft::Pay)> {
        p.drafts()
            .iter()
            .filter(|d| d.line == line)
            .filter_map(|d| match d.body {
                Body::Payment(pay) => Some((d.at, pay)),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn first_event_at(p: &Plan) -> i64 {
        p.drafts().iter().map(|d| d.at).min().unwrap_or(i64::MAX)
    }
}
