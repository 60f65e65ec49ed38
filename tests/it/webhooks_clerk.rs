//! Clerk processing through the real router: every recorded fixture into the expected rows,
//! redelivery and replay idempotency, out-of-order deliveries, name/slug collisions, user
//! deletion with kept references, placeholder linking, and Svix header variants.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use odis_worker::webhooks::clerk::name_candidate;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::app::{send, state, AppState};
use crate::helpers::seed::{self, ClinicOpts, UserOpts};
use crate::helpers::sign::{
    clerk_request, fixture_paths, fixture_request, now, svix_signature, Fixture, CLERK_SECRET,
};

// Ids and times of the fixture story (fixtures/clerk/*.json).
const T0: i64 = 1_795_186_800_000; // 2026-11-20T15:00:00Z
const H: i64 = 3_600_000;
const D: i64 = 24 * H;
const ORG: &str = "org_2pJ6vQm9LkR3tXa8bWcY1nZ5dEf";
const ORG2: &str = "org_2pK8wTn4HsD7yLq2cVb6mX9rGaP";
const MARIA: &str = "user_2pJ5rHk8NvW2qLs9dXm4tYb7cFe";
const JAMES: &str = "user_2pL3mQx7VbN9sKd4wRt8yHc2fJa";

fn ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

fn envelope(typ: &str, data: Value, ts: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": typ, "object": "event", "timestamp": ts, "instance_id": "ins_test", "data": data
    }))
    .unwrap()
}

async fn deliver(st: &AppState, svix_id: &str, typ: &str, data: Value, ts: i64) -> Value {
    let (status, json) = send(st, clerk_request(svix_id, &envelope(typ, data, ts))).await;
    assert_eq!(status, StatusCode::OK, "{typ} {svix_id}: {json}");
    json
}

fn user_data(id: &str, email: &str, first: &str, last: &str, updated: i64) -> Value {
    json!({
        "object": "user", "id": id, "first_name": first, "last_name": last,
        "image_url": format!("https://img.clerk.com/{id}"), "has_image": true,
        "primary_email_address_id": "idn_primary",
        "email_addresses": [
            {"object": "email_address", "id": "idn_other", "email_address": format!("old.{email}")},
            {"object": "email_address", "id": "idn_primary", "email_address": email}
        ],
        "created_at": T0, "updated_at": updated
    })
}

fn org_data(id: &str, name: &str, slug: &str, updated: i64) -> Value {
    json!({
        "object": "organization", "id": id, "name": name, "slug": slug,
        "image_url": "https://img.clerk.com/default", "has_image": false,
        "created_at": T0, "updated_at": updated
    })
}

fn membership_data(org: Value, user_id: &str, email: &str, role: &str, updated: i64) -> Value {
    json!({
        "object": "organization_membership", "id": format!("orgmem_{user_id}"), "role": role,
        "permissions": [], "organization": org,
        "public_user_data": {"user_id": user_id, "identifier": email, "first_name": "Pat",
                             "last_name": null, "image_url": "https://img.clerk.com/x", "has_image": false},
        "created_at": T0, "updated_at": updated
    })
}

async fn access_rows(pool: &PgPool) -> Vec<(String, String, Option<String>, Option<bool>)> {
    sqlx::query_as(
        "SELECT u.clerk_user_id, c.clerk_org_id, a.role, a.is_primary
         FROM user_clinic_access a JOIN users u ON u.id = a.user_id JOIN clinics c ON c.id = a.clinic_id
         ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The rows the whole fixture story must leave, however often and in how many copies it is sent.
async fn assert_story_rows(pool: &PgPool) {
    type ClinicRow = (String, String, String, Option<String>, Option<bool>, String);
    let clinics: Vec<ClinicRow> = sqlx::query_as(
        "SELECT clerk_org_id, name, slug, logo_url, is_active, timezone FROM clinics ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(clinics.len(), 2, "{clinics:?}");
    let (id, name, slug, logo, active, tz) = &clinics[0];
    assert_eq!((id.as_str(), name.as_str()), (ORG2, "Harbor Pet Clinic"));
    assert_eq!(slug, "harbor-pet-clinic");
    assert_eq!(logo, &None, "a default Clerk image is not a logo");
    assert_eq!(active, &Some(false), "organization.deleted deactivates");
    assert_eq!(tz, "America/Los_Angeles");
    let (id, name, slug, logo, active, _) = &clinics[1];
    assert_eq!(
        (id.as_str(), name.as_str()),
        (ORG, "Sunset Animal Hospital & ER")
    );
    assert_eq!(slug, "sunset-animal-hospital");
    assert!(logo
        .as_deref()
        .unwrap()
        .starts_with("https://img.clerk.com/eyJ0eXBlIjoicHJveHki"));
    assert_eq!(active, &Some(true));

    type UserRow = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let users: Vec<UserRow> = sqlx::query_as(
        "SELECT clerk_user_id, email, first_name, last_name, avatar_url FROM users ORDER BY email",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(users.len(), 2, "{users:?}");
    // James deleted his account, but the accepted invitation names him: his row stays.
    assert_eq!(users[0].0, JAMES);
    assert_eq!(users[0].1, "james.chen@sunsetvet.example");
    assert_eq!(users[0].2.as_deref(), Some("James"));
    assert_eq!(users[0].3.as_deref(), Some("Chen"));
    assert_eq!(users[1].0, MARIA);
    assert_eq!(users[1].1, "maria.alvarez@sunsetvet.example");
    assert_eq!(users[1].3.as_deref(), Some("Alvarez-Reyes"));
    assert!(users[1]
        .4
        .as_deref()
        .unwrap()
        .contains("eyJ0eXBlIjoicHJveHki"));

    assert_eq!(
        access_rows(pool).await,
        vec![(MARIA.into(), ORG.into(), Some("admin".into()), Some(true))]
    );

    type InvRow = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        String,
    );
    let invs: Vec<InvRow> = sqlx::query_as(
        "SELECT i.email, i.role, i.status, u.clerk_user_id, i.accepted_at, i.expires_at, c.clerk_org_id
         FROM clinic_invitations i JOIN clinics c ON c.id = i.clinic_id
         LEFT JOIN users u ON u.id = i.accepted_by ORDER BY i.email",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(invs.len(), 2, "{invs:?}");
    assert_eq!(invs[0].0, "james.chen@sunsetvet.example");
    assert_eq!(invs[0].1.as_deref(), Some("member"));
    assert_eq!(invs[0].2.as_deref(), Some("accepted"));
    assert_eq!(invs[0].3.as_deref(), Some(JAMES));
    assert_eq!(invs[0].4, Some(ms(T0 + 2 * H)));
    assert_eq!(invs[0].6, ORG);
    assert_eq!(invs[1].0, "priya.patel@sunsetvet.example");
    assert_eq!(
        invs[1].2.as_deref(),
        Some("expired"),
        "revoked is stored as expired"
    );
    assert_eq!(invs[1].3, None);
    assert_eq!(
        invs[1].5,
        Some(ms(T0 + 3 * D + 2 * H)),
        "expires at revocation"
    );

    let statuses: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, count(*) FROM webhook_events WHERE source = 'clerk' GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        statuses,
        vec![("processed".into(), 16), ("skipped".into(), 1)]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn every_clerk_fixture_processes_into_the_expected_rows(pool: PgPool) {
    let st = state(&pool);
    let paths = fixture_paths("clerk");
    assert_eq!(paths.len(), 17);
    let mut types = std::collections::BTreeSet::new();
    for p in &paths {
        let f = Fixture::load(p).unwrap();
        let typ = f.body.as_ref().unwrap()["type"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, json) = send(&st, fixture_request(p)).await;
        assert_eq!(status, StatusCode::OK, "{}: {json}", p.display());
        let expected = if typ == "session.created" {
            "skipped"
        } else {
            "processed"
        };
        assert_eq!(json["status"], expected, "{}: {json}", p.display());
        types.insert(typ);
    }
    for t in odis_worker::webhooks::clerk::HANDLED {
        assert!(types.contains(*t), "no fixture for {t}");
    }
    assert_story_rows(&pool).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn each_delivery_sent_ten_times_sequentially_gives_one_set_of_rows(pool: PgPool) {
    let st = state(&pool);
    for p in fixture_paths("clerk") {
        for i in 0..10 {
            let (status, json) = send(&st, fixture_request(&p)).await;
            assert_eq!(status, StatusCode::OK, "{}: {json}", p.display());
            if i > 0 {
                assert_eq!(json["status"], "duplicate");
            }
        }
    }
    assert_story_rows(&pool).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn each_delivery_sent_ten_times_concurrently_gives_one_set_of_rows(pool: PgPool) {
    let st = state(&pool);
    for p in fixture_paths("clerk") {
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let st = st.clone();
                let p = p.clone();
                tokio::spawn(async move { send(&st, fixture_request(&p)).await })
            })
            .collect();
        for h in handles {
            let (status, json) = h.await.unwrap();
            assert!(status.is_success(), "{}: {status} {json}", p.display());
        }
    }
    assert_story_rows(&pool).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn replaying_the_whole_history_under_new_delivery_ids_changes_nothing(pool: PgPool) {
    // Svix dedupe hides processor bugs; new svix-ids force every event through processing again,
    // now out of order with respect to what was applied (old snapshots after newer ones,
    // creations after deletions).
    let st = state(&pool);
    for round in 0..3 {
        for p in fixture_paths("clerk") {
            let f = Fixture::load(&p).unwrap();
            let id = format!("{}-replay{round}", f.header("svix-id").unwrap());
            let (status, json) = send(&st, clerk_request(&id, &f.raw_body())).await;
            assert_eq!(status, StatusCode::OK, "{}: {json}", p.display());
        }
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(total, 51);
    sqlx::query("DELETE FROM webhook_events WHERE delivery_id NOT LIKE '%-replay0'")
        .execute(&pool)
        .await
        .unwrap();
    assert_story_rows(&pool).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn an_older_user_update_never_overwrites_a_newer_one(pool: PgPool) {
    let st = state(&pool);
    let u = "user_order";
    deliver(
        &st,
        "m1",
        "user.created",
        user_data(u, "a@x.example", "Ann", "One", T0),
        T0,
    )
    .await;
    let newer = user_data(u, "b@x.example", "Ann", "Three", T0 + 3 * H);
    let older = user_data(u, "c@x.example", "Ann", "Two", T0 + 2 * H);
    let j = deliver(&st, "m3", "user.updated", newer, T0 + 3 * H).await;
    assert_eq!(j["status"], "processed");
    let j = deliver(&st, "m2", "user.updated", older, T0 + 2 * H).await;
    assert_eq!(j["status"], "skipped", "{j}");
    let (email, last): (String, Option<String>) =
        sqlx::query_as("SELECT email, last_name FROM users WHERE clerk_user_id = $1")
            .bind(u)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (email.as_str(), last.as_deref()),
        ("b@x.example", Some("Three"))
    );
    let note: Option<String> =
        sqlx::query_scalar("SELECT last_error FROM webhook_events WHERE delivery_id = 'm2'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(note.unwrap().starts_with("stale"));
    // A deletion wins over any later-arriving update, and over a late user.created.
    deliver(
        &st,
        "m4",
        "user.deleted",
        json!({"object": "user", "id": u, "deleted": true}),
        T0 + 4 * H,
    )
    .await;
    let late = user_data(u, "d@x.example", "Ann", "Four", T0 + 5 * H);
    let j = deliver(&st, "m5", "user.updated", late, T0 + 5 * H).await;
    assert_eq!(j["status"], "skipped");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        n, 0,
        "unreferenced deleted user is removed and stays removed"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_late_membership_created_after_its_deletion_grants_nothing(pool: PgPool) {
    let st = state(&pool);
    let org = org_data("org_m", "Oak Vet", "oak-vet", T0);
    deliver(
        &st,
        "u1",
        "user.created",
        user_data("user_m", "m@x.example", "M", "M", T0),
        T0,
    )
    .await;
    let created = membership_data(org.clone(), "user_m", "m@x.example", "org:member", T0 + H);
    // the deletion (event time T0+3h) is delivered first, the creation (T0+1h) late
    let j = deliver(
        &st,
        "d1",
        "organizationMembership.deleted",
        created.clone(),
        T0 + 3 * H,
    )
    .await;
    assert_eq!(j["status"], "processed");
    let j = deliver(&st, "c1", "organizationMembership.created", created, T0 + H).await;
    assert_eq!(j["status"], "skipped", "{j}");
    assert!(access_rows(&pool).await.is_empty());
    // an older membership.updated is ignored too
    let upd = membership_data(
        org.clone(),
        "user_m",
        "m@x.example",
        "org:admin",
        T0 + 2 * H,
    );
    deliver(&st, "u2", "organizationMembership.updated", upd, T0 + 2 * H).await;
    assert!(access_rows(&pool).await.is_empty());
    // re-added later (a newer membership): access comes back
    let again = membership_data(org, "user_m", "m@x.example", "org:admin", T0 + 5 * H);
    let j = deliver(
        &st,
        "c2",
        "organizationMembership.created",
        again,
        T0 + 5 * H,
    )
    .await;
    assert_eq!(j["status"], "processed");
    assert_eq!(
        access_rows(&pool).await,
        vec![(
            "user_m".into(),
            "org_m".into(),
            Some("admin".into()),
            Some(true)
        )]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_membership_before_user_created_creates_the_user_and_the_clinic(pool: PgPool) {
    let st = state(&pool);
    let org = org_data("org_early", "Early Bird Vet", "early-bird-vet", T0);
    let m = membership_data(
        org,
        "user_early",
        "Early@X.example",
        "org:receptionist",
        T0 + H,
    );
    let j = deliver(&st, "m1", "organizationMembership.created", m, T0 + H).await;
    assert_eq!(j["status"], "processed", "{j}");
    let (email, first): (String, Option<String>) =
        sqlx::query_as("SELECT email, first_name FROM users WHERE clerk_user_id = 'user_early'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (email.as_str(), first.as_deref()),
        ("Early@X.example", Some("Pat"))
    );
    let name: String =
        sqlx::query_scalar("SELECT name FROM clinics WHERE clerk_org_id = 'org_early'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(name, "Early Bird Vet");
    assert_eq!(
        access_rows(&pool).await,
        vec![(
            "user_early".into(),
            "org_early".into(),
            Some("viewer".into()),
            Some(true)
        )],
        "an unknown custom role gets the lowest privilege"
    );
    // user.created then fills the profile of the same row
    let u = user_data("user_early", "early@x.example", "Erin", "Early", T0 + 2 * H);
    deliver(&st, "u1", "user.created", u, T0 + 2 * H).await;
    let rows: Vec<(String, Option<String>)> = sqlx::query_as("SELECT email, first_name FROM users")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows, vec![("early@x.example".into(), Some("Erin".into()))]);
    assert_eq!(access_rows(&pool).await.len(), 1);

    // a public_user_data without an email (phone sign-in) cannot create a users row: unmatched
    let mut m = membership_data(
        org_data("org_early", "Early Bird Vet", "early-bird-vet", T0),
        "user_phone",
        "+14155550123",
        "org:member",
        T0 + H,
    );
    m["public_user_data"]["identifier"] = json!("+14155550123");
    let j = deliver(&st, "m2", "organizationMembership.created", m, T0 + H).await;
    assert_eq!(j["status"], "unmatched");
}

#[sqlx::test(migrations = "./migrations")]
async fn clinic_name_and_slug_collisions_are_made_unique_deterministically(pool: PgPool) {
    let st = state(&pool);
    // an operator-created clinic (no Clerk org) already holds the name and slug
    let manual = seed::clinic(&pool, ClinicOpts::named("Sunset Vet", "America/Denver")).await;
    for (msg, org) in [("a", "org_a"), ("b", "org_b")] {
        let j = deliver(
            &st,
            msg,
            "organization.created",
            org_data(org, "Sunset Vet", "sunset-vet", T0),
            T0,
        )
        .await;
        assert_eq!(j["status"], "processed", "{j}");
    }
    let rows: Vec<(Option<String>, String, String)> = sqlx::query_as(
        "SELECT clerk_org_id, name, slug FROM clinics ORDER BY clerk_org_id NULLS FIRST",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let (na, sa) = name_candidate("Sunset Vet", "sunset-vet", "org_a", 1);
    let (nb, sb) = name_candidate("Sunset Vet", "sunset-vet", "org_b", 1);
    assert_ne!(na, nb);
    assert_eq!(
        rows,
        vec![
            (None, "Sunset Vet".into(), "sunset-vet".into()),
            (Some("org_a".into()), na.clone(), sa.clone()),
            (Some("org_b".into()), nb, sb),
        ]
    );
    let tz: String = sqlx::query_scalar("SELECT timezone FROM clinics WHERE id = $1")
        .bind(manual)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tz, "America/Denver", "the existing clinic is untouched");
    // Re-processing keeps the same names (the clinic's own name never collides with itself).
    deliver(
        &st,
        "a2",
        "organization.updated",
        org_data("org_a", "Sunset Vet", "sunset-vet", T0 + 1),
        T0 + 1,
    )
    .await;
    let name: String = sqlx::query_scalar("SELECT name FROM clinics WHERE clerk_org_id = 'org_a'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(name, na);
    // A rename to a free name takes it; a slug-only collision also suffixes.
    deliver(
        &st,
        "a3",
        "organization.updated",
        org_data("org_a", "Moonrise Vet", "moonrise", T0 + 2),
        T0 + 2,
    )
    .await;
    deliver(
        &st,
        "c1",
        "organization.created",
        org_data("org_c", "Other Name", "moonrise", T0),
        T0,
    )
    .await;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, slug FROM clinics WHERE clerk_org_id IN ('org_a', 'org_c') ORDER BY clerk_org_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let (nc, sc) = name_candidate("Other Name", "moonrise", "org_c", 1);
    assert_eq!(
        rows,
        vec![("Moonrise Vet".into(), "moonrise".into()), (nc, sc)]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn organization_updates_keep_local_fields_and_deletion_deactivates_for_good(pool: PgPool) {
    let st = state(&pool);
    deliver(
        &st,
        "o1",
        "organization.created",
        org_data("org_k", "Keep Vet", "keep-vet", T0),
        T0,
    )
    .await;
    sqlx::query(
        "UPDATE clinics SET timezone = 'America/Chicago', phone = '+13125550100', pims_type = 'idexx',
                            logo_url = 'https://cdn.example/logo.png'
         WHERE clerk_org_id = 'org_k'",
    )
    .execute(&pool)
    .await
    .unwrap();
    deliver(
        &st,
        "o2",
        "organization.updated",
        org_data("org_k", "Keep Vet 2", "keep-vet", T0 + H),
        T0 + H,
    )
    .await;
    type Row = (
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        Option<bool>,
    );
    let q = "SELECT name, timezone, phone, pims_type, logo_url, is_active FROM clinics WHERE clerk_org_id = 'org_k'";
    let row: Row = sqlx::query_as(q).fetch_one(&pool).await.unwrap();
    assert_eq!(
        row,
        (
            "Keep Vet 2".into(),
            "America/Chicago".into(),
            Some("+13125550100".into()),
            "idexx".into(),
            Some("https://cdn.example/logo.png".into()),
            Some(true)
        )
    );
    let j = deliver(
        &st,
        "o3",
        "organization.deleted",
        json!({"object": "organization", "id": "org_k", "deleted": true}),
        T0 + 2 * H,
    )
    .await;
    assert_eq!(j["status"], "processed");
    // late events about the deleted organization change nothing
    let j = deliver(
        &st,
        "o4",
        "organization.updated",
        org_data("org_k", "Keep Vet 3", "keep-vet", T0 + 3 * H),
        T0 + 3 * H,
    )
    .await;
    assert_eq!(j["status"], "skipped");
    let m = membership_data(
        org_data("org_k", "Keep Vet 3", "keep-vet", T0 + 3 * H),
        "user_k",
        "k@x.example",
        "org:admin",
        T0 + 3 * H,
    );
    let j = deliver(&st, "o5", "organizationMembership.created", m, T0 + 3 * H).await;
    assert_eq!(j["status"], "skipped");
    let row: Row = sqlx::query_as(q).fetch_one(&pool).await.unwrap();
    assert_eq!((row.0.as_str(), row.5), ("Keep Vet 2", Some(false)));
    assert!(access_rows(&pool).await.is_empty());
}

#[sqlx::test(migrations = "./migrations")]
async fn user_deleted_removes_access_and_keeps_only_referenced_rows(pool: PgPool) {
    let st = state(&pool);
    let org = org_data("org_d", "Del Vet", "del-vet", T0);
    for (u, role) in [("user_boss", "org:admin"), ("user_temp", "org:member")] {
        deliver(
            &st,
            &format!("{u}-c"),
            "user.created",
            user_data(u, &format!("{u}@x.example"), "A", "B", T0),
            T0,
        )
        .await;
        let m = membership_data(org.clone(), u, &format!("{u}@x.example"), role, T0 + H);
        deliver(
            &st,
            &format!("{u}-m"),
            "organizationMembership.created",
            m,
            T0 + H,
        )
        .await;
    }
    // the boss granted the temp's access: a reference to the boss's users row
    sqlx::query(
        "UPDATE user_clinic_access SET granted_by = (SELECT id FROM users WHERE clerk_user_id = 'user_boss')
         WHERE user_id = (SELECT id FROM users WHERE clerk_user_id = 'user_temp')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let boss_id: Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE clerk_user_id = 'user_boss'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let j = deliver(
        &st,
        "del-boss",
        "user.deleted",
        json!({"object": "user", "id": "user_boss", "deleted": true}),
        T0 + 2 * H,
    )
    .await;
    assert_eq!(j["status"], "processed");
    let j = deliver(
        &st,
        "del-temp",
        "user.deleted",
        json!({"object": "user", "id": "user_temp", "deleted": true}),
        T0 + 2 * H,
    )
    .await;
    assert_eq!(j["status"], "processed");
    let left: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, clerk_user_id FROM users")
        .fetch_all(&pool)
        .await
        .unwrap();
    // boss: referenced (granted_by) at the time of his deletion → kept, same id; temp: removed
    assert_eq!(left, vec![(boss_id, "user_boss".into())]);
    assert!(access_rows(&pool).await.is_empty());
    // deleting an unknown user is fine and leaves a tombstone
    let j = deliver(
        &st,
        "del-x",
        "user.deleted",
        json!({"object": "user", "id": "user_never", "deleted": true}),
        T0,
    )
    .await;
    assert_eq!(j["status"], "processed");
    let j = deliver(
        &st,
        "late-x",
        "user.created",
        user_data("user_never", "n@x.example", "N", "N", T0 - 1),
        T0 - 1,
    )
    .await;
    assert_eq!(j["status"], "skipped");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_placeholder_user_is_claimed_by_email_but_real_accounts_are_never_merged(pool: PgPool) {
    let st = state(&pool);
    let placeholder = seed::user(
        &pool,
        UserOpts {
            clerk_user_id: "pending:legacy-42".into(),
            email: Some("Dr.Smith@Example.com".into()),
            first_name: Some("Jane".into()),
            role: Some("veterinarian".into()),
        },
    )
    .await;
    let other = seed::user(
        &pool,
        UserOpts {
            clerk_user_id: "user_someone_else".into(),
            email: Some("shared@example.com".into()),
            ..Default::default()
        },
    )
    .await;
    deliver(
        &st,
        "s1",
        "user.created",
        user_data("user_smith", "dr.smith@example.com", "Janet", "Smith", T0),
        T0,
    )
    .await;
    let row: (Uuid, String, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT id, clerk_user_id, first_name, last_name FROM users WHERE clerk_user_id = 'user_smith'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        row.0, placeholder,
        "the placeholder row is claimed, keeping its id"
    );
    assert_eq!(
        row.2.as_deref(),
        Some("Jane"),
        "operator-entered name kept on claim"
    );
    assert_eq!(
        row.3.as_deref(),
        Some("Smith"),
        "missing fields filled from Clerk"
    );
    deliver(
        &st,
        "s2",
        "user.created",
        user_data("user_new", "shared@example.com", "S", "E", T0),
        T0,
    )
    .await;
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE lower(email) = 'shared@example.com'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(n, 2);
    let still: String = sqlx::query_scalar("SELECT clerk_user_id FROM users WHERE id = $1")
        .bind(other)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(still, "user_someone_else");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_reinvitation_after_revocation_is_pending_again(pool: PgPool) {
    let st = state(&pool);
    deliver(
        &st,
        "o",
        "organization.created",
        org_data("org_i", "Inv Vet", "inv-vet", T0),
        T0,
    )
    .await;
    let inv = |id: &str, status: &str, updated: i64| {
        json!({"object": "organization_invitation", "id": id, "email_address": "x@y.example",
               "role": "org:admin", "organization_id": "org_i", "status": status,
               "created_at": updated, "updated_at": updated, "expires_at": updated + 30 * D})
    };
    deliver(
        &st,
        "i1",
        "organizationInvitation.created",
        inv("orginv_1", "pending", T0 + H),
        T0 + H,
    )
    .await;
    deliver(
        &st,
        "i2",
        "organizationInvitation.revoked",
        inv("orginv_1", "revoked", T0 + 2 * H),
        T0 + 2 * H,
    )
    .await;
    deliver(
        &st,
        "i3",
        "organizationInvitation.created",
        inv("orginv_2", "pending", T0 + 3 * H),
        T0 + 3 * H,
    )
    .await;
    // the first invitation's creation, redelivered late under a new id, is older: ignored
    let j = deliver(
        &st,
        "i1-late",
        "organizationInvitation.created",
        inv("orginv_1", "pending", T0 + H),
        T0 + H,
    )
    .await;
    assert_eq!(j["status"], "skipped");
    type InvRow = (Option<String>, Option<String>, Option<DateTime<Utc>>);
    let rows: Vec<InvRow> =
        sqlx::query_as("SELECT status, role, expires_at FROM clinic_invitations")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![(
            Some("pending".into()),
            Some("admin".into()),
            Some(ms(T0 + 3 * H + 30 * D))
        )]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn missing_required_fields_are_400_naming_the_field(pool: PgPool) {
    let st = state(&pool);
    let cases = [
        ("user.created", json!({"first_name": "No id"}), "data.id"),
        ("organization.created", json!({"id": "org_x"}), "data.name"),
        (
            "organizationMembership.created",
            json!({"role": "org:member", "organization": {"name": "x"}, "public_user_data": {"user_id": "u"}}),
            "data.organization.id",
        ),
        (
            "organizationMembership.created",
            json!({"role": "org:member", "organization": {"id": "org_x", "name": "x"}, "public_user_data": {}}),
            "data.public_user_data.user_id",
        ),
        (
            "organizationInvitation.created",
            json!({"id": "orginv_x", "organization_id": "org_x"}),
            "data.email_address",
        ),
    ];
    for (i, (typ, data, field)) in cases.into_iter().enumerate() {
        let body = envelope(typ, data, T0);
        let (status, json) = send(&st, clerk_request(&format!("bad{i}"), &body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{typ}: {json}");
        assert_eq!(json["field"], field, "{typ}: {json}");
    }
    let (status, json) = send(
        &st,
        clerk_request("bad-data", br#"{"type":"user.created","data":null}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["field"], "data");
    let invalid: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_events WHERE status = 'invalid'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(invalid, 6, "verified deliveries are kept even when invalid");
    let n: i64 =
        sqlx::query_scalar("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM clinics)")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(n, 0);
}

const OLD_SECRET: &str = "whsec_b2xkLWNsZXJrLXNlY3JldC1iZWZvcmUtcm90YXRpb24=";

/// Svix header variants: a rotated secret's signature list (`v1,<old> v1,<current>`) is
/// accepted and the old secret alone is not; the unbranded `webhook-*` headers work like the
/// `svix-*` ones.
#[sqlx::test(migrations = "./migrations")]
async fn svix_header_variants(pool: PgPool) {
    let st = state(&pool);
    let session = envelope("session.created", json!({"id": "sess_1"}), T0);
    let user = envelope(
        "user.created",
        user_data("user_wh", "wh@x.example", "W", "H", T0),
        T0,
    );
    let both = [OLD_SECRET, CLERK_SECRET].as_slice();
    let old = [OLD_SECRET].as_slice();
    let current = [CLERK_SECRET].as_slice();
    // (case, header prefix, delivery id, body, secrets signing it, status, result)
    let cases = [
        (
            "rotated: old and current secret",
            "svix",
            "rot1",
            &session,
            both,
            StatusCode::OK,
            Some("skipped"),
        ),
        (
            "rotated: only the old secret",
            "svix",
            "rot2",
            &session,
            old,
            StatusCode::UNAUTHORIZED,
            None,
        ),
        (
            "unbranded webhook-* headers",
            "webhook",
            "msg_wh",
            &user,
            current,
            StatusCode::OK,
            Some("processed"),
        ),
    ];
    for (case, prefix, id, body, secrets, status, result) in cases {
        let ts = now();
        let signatures: Vec<String> = secrets
            .iter()
            .map(|secret| svix_signature(secret, id, ts, body))
            .collect();
        let req = Request::post("/webhooks/clerk")
            .header("content-type", "application/json")
            .header(format!("{prefix}-id"), id)
            .header(format!("{prefix}-timestamp"), ts.to_string())
            .header(format!("{prefix}-signature"), signatures.join(" "))
            .body(Body::from(body.clone()))
            .unwrap();
        let (got, json) = send(&st, req).await;
        assert_eq!(got, status, "{case}: {json}");
        assert_eq!(json["status"].as_str(), result, "{case}: {json}");
        let stored: i64 =
            sqlx::query_scalar("SELECT count(*) FROM webhook_events WHERE delivery_id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(
            stored,
            i64::from(result.is_some()),
            "{case}: stored under {id}"
        );
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn qstash_fixtures_are_accepted_once(pool: PgPool) {
    let st = state(&pool);
    let paths = fixture_paths("qstash");
    assert_eq!(paths.len(), 3);
    for p in &paths {
        for _ in 0..2 {
            let (status, json) = send(&st, fixture_request(p)).await;
            assert!(status.is_success(), "{}: {status} {json}", p.display());
        }
    }
    let routes: Vec<String> =
        sqlx::query_scalar("SELECT event_type FROM webhook_events ORDER BY event_type")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        routes,
        vec!["auto-schedule", "execute-call", "execute-email"]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn concurrent_events_about_colliding_orgs_and_one_user_stay_consistent(pool: PgPool) {
    let st = state(&pool);
    // five organizations with one name, created at once: five clinics, each with its own
    // deterministic candidate name (no failures: the savepoint retries the unique violation)
    let handles: Vec<_> = (0..5)
        .map(|i| {
            let st = st.clone();
            tokio::spawn(async move {
                let org = org_data(&format!("org_same{i}"), "Same Vet", "same-vet", T0);
                deliver(&st, &format!("same{i}"), "organization.created", org, T0).await
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.await.unwrap()["status"], "processed");
    }
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT clerk_org_id, name, slug FROM clinics ORDER BY clerk_org_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 5);
    let plain = rows.iter().filter(|r| r.1 == "Same Vet").count();
    assert_eq!(plain, 1, "exactly one keeps the plain name: {rows:?}");
    for (org, name, slug) in &rows {
        let ok = (0..3).any(|i| {
            name_candidate("Same Vet", "same-vet", org, i) == (name.clone(), slug.clone())
        });
        assert!(ok, "{org}: {name} / {slug} is not one of its candidates");
    }

    // user.created, two memberships and an accepted invitation for one user, all at once
    let org_a = org_data("org_same0", "Same Vet", "same-vet", T0);
    let org_b = org_data("org_same1", "Same Vet", "same-vet", T0);
    let inv = json!({"object": "organization_invitation", "id": "orginv_c", "email_address": "c@x.example",
                     "role": "org:member", "organization_id": "org_same0", "status": "accepted",
                     "user_id": "user_c", "created_at": T0, "updated_at": T0 + H, "expires_at": T0 + 30 * D});
    let events = vec![
        (
            "c-user",
            "user.created",
            user_data("user_c", "c@x.example", "C", "C", T0),
        ),
        (
            "c-m1",
            "organizationMembership.created",
            membership_data(org_a, "user_c", "c@x.example", "org:member", T0 + H),
        ),
        (
            "c-m2",
            "organizationMembership.created",
            membership_data(org_b, "user_c", "c@x.example", "org:admin", T0 + H),
        ),
        ("c-inv", "organizationInvitation.accepted", inv),
    ];
    let handles: Vec<_> = events
        .into_iter()
        .map(|(id, typ, data)| {
            let st = st.clone();
            tokio::spawn(async move {
                let body = envelope(typ, data, T0 + H);
                send(&st, clerk_request(id, &body)).await
            })
        })
        .collect();
    for h in handles {
        let (status, json) = h.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(json["status"], "processed", "{json}");
    }
    let users: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT clerk_user_id, first_name FROM users")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(users, vec![("user_c".into(), Some("C".into()))]);
    let access = access_rows(&pool).await;
    assert_eq!(access.len(), 2);
    let primaries = access.iter().filter(|r| r.3 == Some(true)).count();
    assert_eq!(primaries, 1, "exactly one primary clinic: {access:?}");
    let accepted_by: Option<String> = sqlx::query_scalar(
        "SELECT u.clerk_user_id FROM clinic_invitations i JOIN users u ON u.id = i.accepted_by",
    )
    .fetch_optional(&pool)
    .await
    .unwrap();
    assert_eq!(accepted_by.as_deref(), Some("user_c"));

    // removing the primary clinic promotes the remaining one
    let primary_org = access.iter().find(|r| r.3 == Some(true)).unwrap().1.clone();
    let m = membership_data(
        org_data(&primary_org, "Same Vet", "same-vet", T0),
        "user_c",
        "c@x.example",
        "org:member",
        T0 + H,
    );
    deliver(
        &st,
        "c-del",
        "organizationMembership.deleted",
        m,
        T0 + 2 * H,
    )
    .await;
    let access = access_rows(&pool).await;
    assert_eq!(access.len(), 1);
    assert_ne!(access[0].1, primary_org);
    assert_eq!(access[0].3, Some(true));
}
