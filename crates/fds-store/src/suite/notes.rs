//! The subscriber page's reads (all of a subscriber's blocks and labels) and
//! analysts' notes, on both backends.

use super::contains;
use crate::fixtures::{minutes, record, t0};
use crate::notes::actions;
use crate::test_db::Subject;
use crate::{verify_chain, StoreError};
use fds_core::{Action, Label, Outcome, Pii};

on_both_backends!(
    a_subscribers_blocks_and_labels_come_newest_first_and_leave_out_other_subscribers,
    notes_on_a_subscriber_come_newest_first_up_to_the_limit,
    a_note_is_sealed_at_rest_and_audited_and_an_empty_one_is_refused,
    a_subscriber_reference_opens_to_its_number_and_anything_else_is_refused,
);

const ANA: &str = "01011112222";
const BEN: &str = "01033334444";

fn label(label_id: &str, event_id: Option<&str>, subscriber: Option<&str>, minute: i64) -> Label {
    Label {
        label_id: label_id.into(),
        event_id: event_id.map(Into::into),
        subscriber: subscriber.map(Pii::new),
        outcome: Outcome::Fraud,
        note: Some(format!("label {label_id}")),
        labelled_by: "kim".into(),
        labelled_at: t0() + minutes(minute),
    }
}

async fn a_subscribers_blocks_and_labels_come_newest_first_and_leave_out_other_subscribers(s: Subject) {
    let store = s.store;
    let records = [
        record("a-1", ANA, 0, Action::Block),
        record("a-2", ANA, 5, Action::Block),
        record("a-3", ANA, 6, Action::Review),
        record("b-1", BEN, 1, Action::Block),
    ];
    store.save(&records).await.unwrap();
    let block_id = |i: usize| records[i].decision.block.as_ref().expect("a block").block_id.clone();
    let released_at = t0() + minutes(30);
    store.release_block(&block_id(0), "lee", "customer verified", None, released_at).await.unwrap();
    // Labels given for the subscriber, for one of their events without the
    // subscriber (as the API may), and for someone else.
    let labels = [
        label("l-1", Some("a-1"), Some(ANA), 10),
        label("l-2", Some("a-3"), None, 20),
        label("l-3", None, Some(ANA), 15),
        label("l-4", Some("b-1"), Some(BEN), 25),
    ];
    for l in &labels {
        store.save_label(l).await.unwrap();
    }

    let blocks = store.blocks_for_subscriber(ANA, 10).await.unwrap();
    let ids: Vec<&str> = blocks.iter().map(|b| b.block.block_id.as_str()).collect();
    assert_eq!(ids, [block_id(1), block_id(0)], "newest first, the released one kept");
    assert_eq!(blocks[0].released_at, None);
    assert_eq!(
        (blocks[1].released_at, blocks[1].released_by.as_deref(), blocks[1].release_reason.as_deref()),
        (Some(released_at), Some("lee"), Some("customer verified"))
    );
    assert!(blocks.iter().all(|b| b.block.subscriber.expose() == ANA));
    assert_eq!(store.blocks_for_subscriber(ANA, 1).await.unwrap().len(), 1);

    let found = store.labels_for_subscriber(ANA, 10).await.unwrap();
    assert_eq!(found, [labels[1].clone(), labels[2].clone(), labels[0].clone()]);
    assert_eq!(store.labels_for_subscriber(ANA, 2).await.unwrap(), found[..2]);
    assert_eq!(store.labels_for_subscriber(BEN, 10).await.unwrap(), [labels[3].clone()]);
    assert!(store.labels_for_subscriber("01000000000", 10).await.unwrap().is_empty());
    assert!(store.blocks_for_subscriber("01000000000", 10).await.unwrap().is_empty());
}

async fn notes_on_a_subscriber_come_newest_first_up_to_the_limit(s: Subject) {
    let store = s.store;
    let first = store.add_subscriber_note(ANA, "called, no answer", "kim", t0()).await.unwrap();
    let other = store.add_subscriber_note(BEN, "unrelated", "kim", t0() + minutes(1)).await.unwrap();
    let second = store
        .add_subscriber_note(ANA, "  customer confirmed the swap \n", "lee", t0() + minutes(2))
        .await
        .unwrap();

    assert_eq!(second.text, "customer confirmed the swap", "kept trimmed");
    assert_eq!((second.written_by.as_str(), second.written_at), ("lee", t0() + minutes(2)));
    assert_eq!(store.subscriber_notes(ANA, 10).await.unwrap(), [second.clone(), first]);
    assert_eq!(store.subscriber_notes(ANA, 1).await.unwrap(), [second]);
    assert_eq!(store.subscriber_notes(BEN, 10).await.unwrap(), [other]);
    assert!(store.subscriber_notes("01000000000", 10).await.unwrap().is_empty());
}

async fn a_note_is_sealed_at_rest_and_audited_and_an_empty_one_is_refused(s: Subject) {
    let quoted = "01077778888";
    let text = format!("caller used {quoted} to ask for the SIM swap");
    let note = s.store.add_subscriber_note(ANA, &text, "kim", t0()).await.unwrap();
    let empty = s.store.add_subscriber_note(ANA, " \n ", "kim", t0()).await;
    let long =
        s.store.add_subscriber_note(ANA, &"x".repeat(crate::notes::MAX_NOTE_CHARS + 1), "kim", t0()).await;

    assert!(matches!(empty, Err(StoreError::Refused(_))), "{empty:?}");
    assert!(matches!(long, Err(StoreError::Refused(_))), "{long:?}");
    let raw = s.raw_storage().await;
    assert!(!contains(&raw, quoted), "the number quoted in the note is stored in plaintext");
    assert!(!contains(&raw, "to ask for the SIM swap"), "the note's text is stored in plaintext");
    assert!(!contains(&raw, ANA), "the subscriber is stored in plaintext");

    let audit = s.store.audit_records(0, 10).await.unwrap();
    assert_eq!(audit.len(), 1, "one record, for the note kept; none for those refused");
    let entry = &audit[0].entry;
    assert_eq!(
        (entry.action.as_str(), entry.actor.as_str(), entry.target.clone()),
        (actions::SUBSCRIBER_NOTE, "kim", format!("note:{}", note.note_id))
    );
    // The log keeps both sealed (its hashes cover what is stored); the vault opens them.
    let mut after = entry.after.clone().expect("the note");
    assert!(after["note_text"].as_str().is_some_and(|t| t.starts_with("v1.")), "{after}");
    crate::pii::open_json(&crate::fixtures::vault(), "audit_log", &mut after).unwrap();
    assert_eq!((after["subscriber"].as_str(), after["note_text"].as_str()), (Some(ANA), Some(text.as_str())));
    assert_eq!(verify_chain(&audit), Ok(1));
}

async fn a_subscriber_reference_opens_to_its_number_and_anything_else_is_refused(s: Subject) {
    let store = s.store;
    let one = store.subscriber_ref(ANA);
    let two = store.subscriber_ref(ANA);

    assert_ne!(one, two, "a new reference each time: references cannot be matched up");
    for reference in [&one, &two] {
        assert!(!reference.contains(ANA));
        assert!(reference.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)), "URL-safe");
        assert_eq!(store.subscriber_of_ref(reference).unwrap(), ANA);
    }
    let mut tampered = one.clone();
    tampered.replace_range(one.len() - 2.., if one.ends_with("AA") { "BB" } else { "AA" });
    let other_field = crate::fixtures::vault().encrypt(fds_vault::Field::Note, ANA).to_string();
    for junk in [ANA.to_string(), String::new(), "v1.local.x.y".into(), tampered, other_field] {
        let refused = store.subscriber_of_ref(&junk);
        assert!(matches!(refused, Err(StoreError::Refused(_))), "{junk:?}: {refused:?}");
    }
}
