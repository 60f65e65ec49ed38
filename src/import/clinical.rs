//! `clients` (deduplicated per clinic), `canonical_patients` → `patients`, `cases` (with the
//! per-case patient as `patient_snapshot`), per-case `patients` (folded into their case)
//! (`docs/legacy-import.md#clients-patients-cases`).

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::rows::{
    copy, flag, get, object, object_or_empty, opt, put_phone, set, text, uuid, Row, RowOut,
};
use super::Ctx;
use crate::db::import_target::{self as target_db, targets};
use crate::domain::legacy::{self, OwnerKey, Skip};

/// Existing V2 clients of a page's clinics, by dedup key: `(clinic, key) → id`.
async fn clients_by_key(
    conn: &mut PgConnection,
    wanted: &[(Uuid, OwnerKey)],
) -> Result<HashMap<(Uuid, OwnerKey), Uuid>, sqlx::Error> {
    let clinics: Vec<Uuid> = wanted.iter().map(|(c, _)| *c).collect();
    let mut phones = Vec::new();
    let mut emails = Vec::new();
    for (_, k) in wanted {
        match k {
            OwnerKey::Phone(p) => phones.push(p.clone()),
            OwnerKey::Email(e) => emails.push(e.clone()),
        }
    }
    let mut found = HashMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    for (id, clinic, phone, email) in
        target_db::clients_by_contact(conn, &clinics, &phones, &emails).await?
    {
        // Oldest first: the first client with a key keeps it.
        if let Some(p) = phone.filter(|p| phones.contains(p)) {
            found.entry((clinic, OwnerKey::Phone(p))).or_insert(id);
        } else if let Some(e) = email {
            found.entry((clinic, OwnerKey::Email(e))).or_insert(id);
        }
    }
    Ok(found)
}

/// Old clients: kept with their id unless an earlier client of the same clinic has the same
/// dedup key (`domain::legacy::owner_key`), then merged into it.
pub async fn clients(
    conn: &mut PgConnection,
    ctx: &mut Ctx,
    rows: Vec<Row>,
) -> Result<Vec<RowOut>, sqlx::Error> {
    let keyed: Vec<(Uuid, OwnerKey)> = rows
        .iter()
        .filter_map(|r| {
            let clinic = ctx.clinic(uuid(r, "_clinic_id")?);
            Some((
                clinic,
                legacy::owner_key(text(r, "phone"), text(r, "email"))?,
            ))
        })
        .collect();
    let mut known = clients_by_key(conn, &keyed).await?;
    let mut outs = Vec::with_capacity(rows.len());
    for r in &rows {
        let Some(id) = uuid(r, "id") else { continue };
        let Some(old_clinic) = uuid(r, "_clinic_id") else {
            outs.push(RowOut::skipped(id, Skip::DanglingClinic));
            continue;
        };
        let clinic = ctx.clinic(old_clinic);
        if let Some(key) = legacy::owner_key(text(r, "phone"), text(r, "email")) {
            let first = *known.entry((clinic, key)).or_insert(id);
            if first != id {
                ctx.client_ids.insert(id, first);
                outs.push(RowOut::merged(id).map("clients", "clients", first));
                continue;
            }
        }
        outs.push(client(r, id, clinic));
    }
    Ok(outs)
}

fn client(r: &Row, id: Uuid, clinic: Uuid) -> RowOut {
    let Some(name) = text(r, "display_name")
        .map(str::to_string)
        .or_else(|| full_name(text(r, "first_name"), text(r, "last_name")))
    else {
        return RowOut::skipped(id, Skip::MissingRequired("display_name"));
    };
    let mut metadata = object_or_empty(r, "metadata");
    let phone = match legacy::phone(text(r, "phone")) {
        None => Value::Null,
        Some(Ok(p)) => Value::String(p),
        Some(Err(raw)) => {
            if legacy::normalized_email(text(r, "email")).is_none() {
                return RowOut::skipped(id, Skip::BadPhone);
            }
            metadata["legacy_phone"] = Value::String(raw);
            Value::Null
        }
    };
    let mut c = Row::new();
    copy(
        r,
        &mut c,
        &[
            "id",
            "first_name",
            "last_name",
            "first_visit_at",
            "last_visit_at",
            "created_at",
            "updated_at",
            "preferred_contact_method",
        ],
    );
    set(&mut c, "clinic_id", clinic.to_string());
    set(&mut c, "display_name", name);
    set(&mut c, "phone", phone);
    set(&mut c, "metadata", metadata);
    put_phone(&mut c, "phone_secondary", text(r, "phone_secondary"));
    set(&mut c, "email", opt(text(r, "email").map(str::trim)));
    set(&mut c, "address", client_address(r));
    set(
        &mut c,
        "communication_opt_out",
        flag(r, "communication_opt_out", false),
    );
    set(&mut c, "is_active", flag(r, "is_active", true));
    RowOut::imported(id).write(&targets::CLIENTS, c)
}

fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let n = [first, last]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!n.trim().is_empty()).then_some(n)
}

/// `clients.address` (`{line1, line2, city, state, zip, country}`) from the old columns.
fn client_address(r: &Row) -> Value {
    let parts = [
        ("line1", "address_line1"),
        ("line2", "address_line2"),
        ("city", "city"),
        ("state", "state"),
        ("zip", "postal_code"),
    ];
    if parts.iter().all(|(_, old)| text(r, old).is_none()) {
        return Value::Null;
    }
    let mut a = Row::new();
    for (new, old) in parts {
        set(&mut a, new, get(r, old));
    }
    set(&mut a, "country", get(r, "country"));
    Value::Object(a)
}

/// Canonical patients → `patients`; a second patient of one (merged) client with the same
/// name (V2: unique per client, case-insensitive) is merged into the first.
pub async fn canonical_patients(
    conn: &mut PgConnection,
    ctx: &mut Ctx,
    rows: Vec<Row>,
) -> Result<Vec<RowOut>, sqlx::Error> {
    let clients: Vec<Uuid> = rows
        .iter()
        .filter_map(|r| uuid(r, "client_id").map(|c| ctx.client(c)))
        .collect();
    let names: Vec<String> = rows
        .iter()
        .filter_map(|r| text(r, "name").map(|n| n.trim().to_lowercase()))
        .collect();
    let mut known: HashMap<(Uuid, String), Uuid> =
        target_db::patients_by_name(conn, &clients, &names)
            .await?
            .into_iter()
            .map(|(id, client, name)| ((client, name), id))
            .collect();
    let mut outs = Vec::with_capacity(rows.len());
    for r in &rows {
        let Some(id) = uuid(r, "id") else { continue };
        let Some(old_clinic) = uuid(r, "_clinic_id") else {
            outs.push(RowOut::skipped(id, Skip::DanglingClinic));
            continue;
        };
        let Some(client) = uuid(r, "client_id").map(|c| ctx.client(c)) else {
            outs.push(RowOut::skipped(id, Skip::MissingRequired("client_id")));
            continue;
        };
        let Some(name) = text(r, "name") else {
            outs.push(RowOut::skipped(id, Skip::MissingRequired("name")));
            continue;
        };
        let first = *known
            .entry((client, name.trim().to_lowercase()))
            .or_insert(id);
        if first != id {
            ctx.patient_ids.insert(id, first);
            outs.push(RowOut::merged(id).map("canonical_patients", "patients", first));
            continue;
        }
        let mut p = Row::new();
        copy(
            r,
            &mut p,
            &[
                "id",
                "name",
                "species",
                "breed",
                "sex",
                "color",
                "date_of_birth",
                "microchip_id",
                "deceased_at",
                "allergies",
                "chronic_conditions",
                "first_visit_at",
                "last_visit_at",
                "visit_count",
                "created_at",
                "updated_at",
            ],
        );
        set(&mut p, "clinic_id", ctx.clinic(old_clinic).to_string());
        set(&mut p, "client_id", client.to_string());
        set(&mut p, "is_deceased", flag(r, "is_deceased", false));
        set(&mut p, "is_active", flag(r, "is_active", true));
        set(&mut p, "weight_kg", Value::Null);
        set(&mut p, "metadata", object_or_empty(r, "metadata"));
        outs.push(RowOut::imported(id).write(&targets::PATIENTS, p));
    }
    Ok(outs)
}

/// What a page of cases references that must exist in V2 (else the reference is left empty).
struct CaseRefs {
    patients: HashSet<Uuid>,
    clients: HashSet<Uuid>,
    users: HashSet<Uuid>,
    owners: HashMap<(Uuid, OwnerKey), Uuid>,
    /// Clients this page creates from per-case owners (written by every case that uses them).
    created: HashSet<Uuid>,
}

/// Records that the per-case patient `patient` made the client `client`.
fn out_map(mut out: RowOut, patient: Uuid, client: Uuid) -> RowOut {
    out.id_map.push(crate::db::import_target::IdMapRow {
        old_table: "patients",
        old_id: patient,
        new_table: "clients",
        new_id: client,
    });
    out
}

async fn case_refs(
    conn: &mut PgConnection,
    ctx: &Ctx,
    rows: &[Row],
) -> Result<CaseRefs, sqlx::Error> {
    let mut patients = Vec::new();
    let mut clients = Vec::new();
    let mut users = Vec::new();
    let mut keys = Vec::new();
    for r in rows {
        let snap = r.get("_patient").cloned().map(object).unwrap_or_default();
        patients.extend(uuid(r, "_canonical_id").map(|p| ctx.patient(p)));
        clients.extend(uuid(r, "_canonical_client").map(|c| ctx.client(c)));
        clients.extend(uuid(&snap, "client_id").map(|c| ctx.client(c)));
        users.extend(
            ["created_by", "updated_by", "user_id"]
                .iter()
                .filter_map(|k| uuid(r, k)),
        );
        if let (Some(c), Some(k)) = (
            uuid(r, "_clinic_id"),
            legacy::owner_key(text(&snap, "owner_phone"), text(&snap, "owner_email")),
        ) {
            keys.push((ctx.clinic(c), k));
        }
    }
    Ok(CaseRefs {
        patients: target_db::existing_ids(conn, "patients", &patients)
            .await?
            .into_iter()
            .collect(),
        clients: target_db::existing_ids(conn, "clients", &clients)
            .await?
            .into_iter()
            .collect(),
        users: target_db::existing_ids(conn, "users", &users)
            .await?
            .into_iter()
            .collect(),
        owners: clients_by_key(conn, &keys).await?,
        created: HashSet::new(),
    })
}

/// Old cases: the V2 case keeps the old id; its patient is the canonical patient, its client
/// the canonical patient's owner, else the per-case patient's client, else the client found (or
/// created) by the per-case owner's phone / e-mail.
pub async fn cases(
    conn: &mut PgConnection,
    ctx: &mut Ctx,
    rows: Vec<Row>,
) -> Result<Vec<RowOut>, sqlx::Error> {
    let mut refs = case_refs(conn, ctx, &rows).await?;
    let mut outs = Vec::with_capacity(rows.len());
    for r in &rows {
        let Some(id) = uuid(r, "id") else { continue };
        let Some(old_clinic) = uuid(r, "_clinic_id") else {
            outs.push(RowOut::skipped(id, Skip::DanglingClinic));
            continue;
        };
        outs.push(case(ctx, &mut refs, r, id, ctx.clinic(old_clinic)));
    }
    Ok(outs)
}

fn case(ctx: &Ctx, refs: &mut CaseRefs, r: &Row, id: Uuid, clinic: Uuid) -> RowOut {
    let snap = r.get("_patient").cloned().map(object).unwrap_or_default();
    let patient = uuid(r, "_canonical_id")
        .map(|p| ctx.patient(p))
        .filter(|p| refs.patients.contains(p));
    let mut out = RowOut::imported(id);
    let mut client = uuid(r, "_canonical_client")
        .or_else(|| uuid(&snap, "client_id"))
        .map(|c| ctx.client(c))
        .filter(|c| refs.clients.contains(c));
    if client.is_none() {
        if let Some(key) = legacy::owner_key(text(&snap, "owner_phone"), text(&snap, "owner_email"))
        {
            let found = refs.owners.get(&(clinic, key.clone())).copied();
            let new_id = match found {
                Some(existing) if !refs.created.contains(&existing) => existing,
                _ => {
                    let k = match &key {
                        OwnerKey::Phone(p) | OwnerKey::Email(p) => p.clone(),
                    };
                    let new_id = legacy::derived_id("clients", &[&clinic.to_string(), &k]);
                    refs.owners.insert((clinic, key.clone()), new_id);
                    refs.created.insert(new_id);
                    out = out.write(&targets::CLIENTS, owner_client(&snap, new_id, clinic, &key));
                    if let Some(pid) = uuid(&snap, "id") {
                        out = out_map(out, pid, new_id);
                    }
                    new_id
                }
            };
            client = Some(new_id);
        }
    }
    let user = |k: &str| uuid(r, k).filter(|u| refs.users.contains(u));
    let mut c = Row::new();
    copy(
        r,
        &mut c,
        &[
            "id",
            "type",
            "status",
            "visibility",
            "source",
            "scheduled_at",
            "auto_scheduled_at",
            "scheduling_source",
            "cadence_source",
            "call_delay_days",
            "email_delay_days",
            "detected_case_type",
            "external_id",
            "entity_extraction",
            "extreme_case_check",
            "created_at",
            "updated_at",
        ],
    );
    set(&mut c, "clinic_id", clinic.to_string());
    set(&mut c, "patient_id", opt(patient.map(|p| p.to_string())));
    set(&mut c, "client_id", opt(client.map(|p| p.to_string())));
    set(
        &mut c,
        "created_by",
        opt(user("created_by")
            .or_else(|| user("user_id"))
            .map(|u| u.to_string())),
    );
    set(
        &mut c,
        "updated_by",
        opt(user("updated_by").map(|u| u.to_string())),
    );
    set(&mut c, "patient_snapshot", snapshot(&snap));
    for (k, d) in [
        ("call_enabled", true),
        ("email_enabled", true),
        ("is_urgent", false),
        ("is_starred", false),
    ] {
        set(&mut c, k, flag(r, k, d));
    }
    set(&mut c, "metadata", object_or_empty(r, "metadata"));
    out.write(&targets::CASES, c)
}

/// The client made from a per-case owner no client matched (derived id: one per clinic and key).
fn owner_client(snap: &Row, id: Uuid, clinic: Uuid, key: &OwnerKey) -> Row {
    let mut c = Row::new();
    set(&mut c, "id", id.to_string());
    set(&mut c, "clinic_id", clinic.to_string());
    let name = text(snap, "owner_name").unwrap_or("Unknown owner");
    set(&mut c, "display_name", name.trim());
    match key {
        OwnerKey::Phone(p) => set(&mut c, "phone", p.as_str()),
        OwnerKey::Email(_) => set(&mut c, "phone", Value::Null),
    }
    set(
        &mut c,
        "email",
        opt(text(snap, "owner_email").map(str::trim)),
    );
    set(&mut c, "communication_opt_out", false);
    set(&mut c, "is_active", true);
    set(
        &mut c,
        "metadata",
        json!({ "legacy_source": "patients.owner" }),
    );
    c
}

/// `cases.patient_snapshot`: the per-case patient as it was at the visit.
fn snapshot(p: &Row) -> Value {
    if p.is_empty() {
        return Value::Null;
    }
    let mut s = Row::new();
    copy(
        p,
        &mut s,
        &[
            "name",
            "species",
            "breed",
            "sex",
            "date_of_birth",
            "weight_kg",
            "owner_name",
            "owner_phone",
            "owner_email",
            "external_id",
            "source",
            "metadata",
        ],
    );
    set(&mut s, "legacy_patient_id", get(p, "id"));
    Value::Object(s)
}

/// Per-case patients: the first of each imported case is folded into its `patient_snapshot`
/// (merged); later ones of the same case, and those whose case is missing, are skipped.
pub async fn case_patients(
    conn: &mut PgConnection,
    rows: Vec<Row>,
) -> Result<Vec<RowOut>, sqlx::Error> {
    let case_ids: Vec<Uuid> = rows.iter().filter_map(|r| uuid(r, "case_id")).collect();
    let imported: HashSet<Uuid> = target_db::existing_ids(conn, "cases", &case_ids)
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .iter()
        .filter_map(|r| {
            let id = uuid(r, "id")?;
            let case = uuid(r, "case_id");
            Some(match case {
                Some(c) if imported.contains(&c) => {
                    if r.get("_first_of_case").and_then(Value::as_bool) == Some(true) {
                        RowOut::merged(id).map("patients", "cases", c)
                    } else {
                        RowOut::skipped(id, Skip::DuplicateCasePatient)
                    }
                }
                _ => RowOut::skipped(id, Skip::Dangling("case_id")),
            })
        })
        .collect())
}
