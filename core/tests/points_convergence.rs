//! The points ledger under offline redemptions: 2–4 devices record redemptions on their own copies in any
//! order, hand copies to each other, and sync with the server at random moments; the server credits evaluated
//! orders in between and decides whatever it has received each time a device uploads. Whatever the order: no
//! balance and no stock ever goes below zero (checked in the server's sequence order, after every decision),
//! every request is decided exactly once, nothing recorded is lost, and every replica that merges the ledger
//! reads the same ledger and the same balances.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{AutoCommit, ReadDoc, ROOT};
use chrono::{DateTime, Duration, FixedOffset};
use gridline_core::docs::points::{decision_key, record_redemption, RedemptionRequest, DECISION_PREFIX};
use gridline_core::docs::{new_document, DocId};
use gridline_core::model::{CommunitySettings, ServiceOffer, ShopItem};
use gridline_core::points::{self, Ledger, RedemptionStatus};
use proptest::prelude::*;

const VOLUNTEERS: [&str; 2] = ["zhang", "wang"];
/// Two items of the shop and one that is not in it.
const ITEMS: [&str; 3] = ["towel", "rice", "caviar"];
const SERVICES: [&str; 2] = ["meal_delivery", "haircut"];

#[derive(Debug, Clone)]
enum Step {
    /// A device records a redemption offline.
    Record { device: usize, volunteer: usize, item: usize, quantity: u32, minute: u32 },
    /// The server credits an evaluated order.
    Credit { volunteer: usize, service: usize },
    /// A device syncs up: the server merges its copy and decides what is pending.
    Upload { device: usize },
    /// A device syncs down: it merges the server's copy.
    Download { device: usize },
    /// One device merges another's copy (a hand-off bundle).
    Exchange { into: usize, from: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0..4usize, 0..2usize, 0..ITEMS.len(), 1..=4u32, 0..600u32)
            .prop_map(|(device, volunteer, item, quantity, minute)| Step::Record { device, volunteer, item, quantity, minute }),
        2 => (0..2usize, 0..2usize).prop_map(|(volunteer, service)| Step::Credit { volunteer, service }),
        3 => (0..4usize).prop_map(|device| Step::Upload { device }),
        3 => (0..4usize).prop_map(|device| Step::Download { device }),
        1 => (0..4usize, 0..4usize).prop_map(|(into, from)| Step::Exchange { into, from }),
    ]
}

fn settings() -> CommunitySettings {
    let mut s = CommunitySettings::defaults("c1", "", gridline_core::model::DEFAULT_TIME_ZONE);
    s.service_catalogue = vec![
        ServiceOffer {
            code: "meal_delivery".into(),
            name_zh: "上门送餐".into(),
            name_en: "Meal".into(),
            points: 10,
            minutes: 60,
        },
        ServiceOffer {
            code: "haircut".into(),
            name_zh: "义务理发".into(),
            name_en: "Haircut".into(),
            points: 6,
            minutes: 30,
        },
    ];
    s.shop_items = vec![
        ShopItem { code: "towel".into(), name_zh: "毛巾".into(), name_en: "Towel".into(), price_points: 4, stock: 5 },
        ShopItem { code: "rice".into(), name_zh: "大米".into(), name_en: "Rice".into(), price_points: 15, stock: 3 },
    ];
    s
}

fn base() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("fixed time")
}

/// One entry of the server's sequence: a credit (+), a confirmed redemption (− and units handed out) or a
/// refused one (0).
struct SeqEvent<'a> {
    seq: u64,
    volunteer: &'a str,
    delta: i128,
    handed_out: Option<(&'a str, u32)>,
}

/// Balances and stock never below zero at any point of the server's sequence, and sequence numbers unique.
fn check_never_negative(ledger: &Ledger, settings: &CommunitySettings) {
    let mut events: Vec<SeqEvent<'_>> = ledger
        .credits
        .iter()
        .map(|c| SeqEvent { seq: c.seq, volunteer: &c.volunteer, delta: i128::from(c.points), handed_out: None })
        .collect();
    for d in ledger.decisions.values() {
        let r = ledger.request(&d.redemption_id).expect("every decision decides a request");
        let mut event = SeqEvent { seq: d.seq, volunteer: &r.volunteer, delta: 0, handed_out: None };
        if d.status == RedemptionStatus::Confirmed {
            event.delta = -i128::from(d.points);
            event.handed_out = Some((r.item.as_str(), r.quantity));
        } else {
            assert_eq!(d.points, 0, "a refused request charges nothing");
        }
        events.push(event);
    }
    events.sort_by_key(|e| e.seq);
    let seqs: BTreeSet<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs.len(), events.len(), "sequence numbers are unique");
    let mut balances: BTreeMap<&str, i128> = BTreeMap::new();
    let mut stock: BTreeMap<&str, i128> =
        settings.shop_items.iter().map(|i| (i.code.as_str(), i128::from(i.stock))).collect();
    for SeqEvent { seq, volunteer, delta, handed_out } in events {
        let b = balances.entry(volunteer).or_default();
        *b += delta;
        assert!(*b >= 0, "{volunteer}'s balance below zero at seq {seq}");
        if let Some((item, quantity)) = handed_out {
            let left = stock.get_mut(item).expect("only shop items are confirmed");
            *left -= i128::from(quantity);
            assert!(*left >= 0, "{item} below zero at seq {seq}");
        }
    }
}

fn decide(server: &mut AutoCommit, settings: &CommunitySettings, clock: &mut i64) {
    *clock += 1;
    points::decide_pending(server, settings, base() + Duration::minutes(*clock)).expect("decide");
    check_never_negative(&Ledger::read(server), settings);
}

fn run(devices: usize, steps: Vec<Step>) {
    let settings = settings();
    let id = DocId::points("c1");
    let mut server = new_document(&id, &automerge::ActorId::random()).expect("server copy");
    server.commit();
    let mut copies: Vec<AutoCommit> =
        (0..devices).map(|_| server.fork().with_actor(automerge::ActorId::random())).collect();
    let mut recorded = Vec::new();
    let (mut orders, mut clock) = (0u32, 0i64);
    for step in steps {
        match step {
            Step::Record { device, volunteer, item, quantity, minute } => {
                let device = device % devices;
                let n = recorded.len();
                let request = RedemptionRequest {
                    redemption_id: format!("0190f5a4-2b3c-7d4e-8f00-{n:012}"),
                    volunteer: VOLUNTEERS[volunteer].into(),
                    item: ITEMS[item].into(),
                    quantity,
                    points: 0,
                    actor: format!("staff{device}"),
                    device: format!("device{device}"),
                    role: "station".into(),
                    at: base() + Duration::minutes(i64::from(minute)),
                    note: String::new(),
                };
                record_redemption(&mut copies[device], &request).expect("record");
                copies[device].commit();
                recorded.push(request.redemption_id);
            }
            Step::Credit { volunteer, service } => {
                orders += 1;
                clock += 1;
                let order = format!("0190f5a4-2b3c-7d4e-8f00-ffff{orders:08}");
                let at = base() + Duration::minutes(clock);
                let credited = points::credit_evaluated(
                    &mut server,
                    &order,
                    VOLUNTEERS[volunteer],
                    SERVICES[service],
                    at,
                    &settings,
                    at,
                )
                .expect("credit");
                assert!(credited);
            }
            Step::Upload { device } => {
                server.merge(&mut copies[device % devices]).expect("upload");
                decide(&mut server, &settings, &mut clock);
            }
            Step::Download { device } => {
                copies[device % devices].merge(&mut server).expect("download");
            }
            Step::Exchange { into, from } => {
                let (into, from) = (into % devices, from % devices);
                if into != from {
                    let mut other = copies[from].clone();
                    copies[into].merge(&mut other).expect("exchange");
                }
            }
        }
    }
    // Everyone syncs up, the server decides, everyone syncs down.
    for copy in copies.iter_mut() {
        server.merge(copy).expect("final upload");
    }
    decide(&mut server, &settings, &mut clock);
    for copy in copies.iter_mut() {
        copy.merge(&mut server).expect("final download");
    }
    let ledger = Ledger::read(&server);
    // Nothing lost, every request decided exactly once, no decision of a request that does not exist.
    let requests: BTreeSet<&str> = ledger.requests.iter().map(|r| r.redemption_id.as_str()).collect();
    assert_eq!(requests, recorded.iter().map(String::as_str).collect::<BTreeSet<_>>());
    for id in &recorded {
        assert!(ledger.decision(id).is_some(), "request {id} decided");
        assert_eq!(server.get_all(ROOT, decision_key(id)).expect("values").len(), 1, "one decision on {id}");
    }
    let decided =
        server.map_range(ROOT, DECISION_PREFIX.to_string()..).take_while(|i| i.key.starts_with(DECISION_PREFIX));
    assert_eq!(decided.count(), recorded.len());
    assert!(points::decide_pending(&mut server, &settings, base()).expect("again").is_empty());
    check_never_negative(&ledger, &settings);
    // Every replica reads the same ledger and the same balances.
    for copy in &copies {
        assert_eq!(Ledger::read(copy), ledger);
        for v in VOLUNTEERS {
            assert_eq!(points::balance(&Ledger::read(copy), v), points::balance(&ledger, v));
        }
    }
    for v in VOLUNTEERS {
        let b = points::balance(&ledger, v);
        assert_eq!(b.pending, 0, "nothing left pending");
        assert_eq!(b.balance + b.redeemed, b.earned);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn offline_redemptions_never_overdraw_and_every_replica_agrees(
        devices in 2..=4usize,
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        run(devices, steps);
    }
}

/// Two devices each record, offline, a redemption the balance covers alone but not together: the server
/// confirms the earlier one and refuses the other, and both stay in the ledger.
#[test]
fn the_second_of_two_offline_redemptions_that_together_overdraw_is_refused() {
    let steps = vec![
        Step::Credit { volunteer: 0, service: 0 }, // zhang: 10 points
        Step::Download { device: 0 },
        Step::Download { device: 1 },
        Step::Record { device: 0, volunteer: 0, item: 0, quantity: 2, minute: 5 }, // 8 points
        Step::Record { device: 1, volunteer: 0, item: 0, quantity: 2, minute: 3 }, // 8 points, earlier
        Step::Upload { device: 0 },
        Step::Upload { device: 1 },
    ];
    run(2, steps);
    let settings = settings();
    let mut server = new_document(&DocId::points("c1"), &automerge::ActorId::random()).expect("server");
    let at = base();
    points::credit_evaluated(
        &mut server,
        "0190f5a4-2b3c-7d4e-8f00-ffff00000001",
        "zhang",
        "meal_delivery",
        at,
        &settings,
        at,
    )
    .expect("credit");
    let mut a = server.fork().with_actor(automerge::ActorId::random());
    let mut b = server.fork().with_actor(automerge::ActorId::random());
    let request = |id: &str, minute: i64| RedemptionRequest {
        redemption_id: id.into(),
        volunteer: "zhang".into(),
        item: "towel".into(),
        quantity: 2,
        points: 8,
        actor: "li".into(),
        device: "d".into(),
        role: "station".into(),
        at: base() + Duration::minutes(minute),
        note: String::new(),
    };
    record_redemption(&mut a, &request("0190f5a4-2b3c-7d4e-8f00-00000000000a", 5)).expect("a");
    record_redemption(&mut b, &request("0190f5a4-2b3c-7d4e-8f00-00000000000b", 3)).expect("b");
    server.merge(&mut a).expect("a up");
    let first = points::decide_pending(&mut server, &settings, at).expect("decide a");
    assert_eq!(first.iter().map(|d| d.status).collect::<Vec<_>>(), [RedemptionStatus::Confirmed]);
    server.merge(&mut b).expect("b up");
    let second = points::decide_pending(&mut server, &settings, at).expect("decide b");
    assert_eq!(second.iter().map(|d| d.status).collect::<Vec<_>>(), [RedemptionStatus::PointsInsufficient]);
    let ledger = Ledger::read(&server);
    assert_eq!(ledger.requests.len(), 2, "nothing lost");
    assert_eq!(points::balance(&ledger, "zhang").balance, 2);
}
