//! Small helpers to read an old row (JSON from `db::legacy_source`) and build a V2 row (JSON
//! for `db::import_target`), and what a mapping returns for one old row.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::db::import_target::{IdMapRow, Target};
use crate::domain::legacy::Skip;

pub type Row = Map<String, Value>;

/// What became of one old row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Imported,
    Merged,
    Skipped(Skip),
}

/// One old row's mapping: its outcome, the V2 rows it writes (parents first) and id-map rows.
#[derive(Debug)]
pub struct RowOut {
    pub old_id: Uuid,
    pub outcome: Outcome,
    pub writes: Vec<(&'static Target, Value)>,
    pub id_map: Vec<IdMapRow>,
}

impl RowOut {
    pub fn imported(old_id: Uuid) -> Self {
        Self {
            old_id,
            outcome: Outcome::Imported,
            writes: Vec::new(),
            id_map: Vec::new(),
        }
    }

    pub fn merged(old_id: Uuid) -> Self {
        Self {
            outcome: Outcome::Merged,
            ..Self::imported(old_id)
        }
    }

    pub fn skipped(old_id: Uuid, skip: Skip) -> Self {
        Self {
            outcome: Outcome::Skipped(skip),
            ..Self::imported(old_id)
        }
    }

    pub fn write(mut self, target: &'static Target, row: Row) -> Self {
        self.writes.push((target, Value::Object(row)));
        self
    }

    pub fn map(mut self, old_table: &'static str, new_table: &'static str, new_id: Uuid) -> Self {
        self.id_map.push(IdMapRow {
            old_table,
            old_id: self.old_id,
            new_table,
            new_id,
        });
        self
    }
}

/// The row as an object (every row read is one).
pub fn object(v: Value) -> Row {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

pub fn uuid(r: &Row, k: &str) -> Option<Uuid> {
    r.get(k)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// A text column, `None` when null or blank.
pub fn text<'a>(r: &'a Row, k: &str) -> Option<&'a str> {
    r.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

pub fn get(r: &Row, k: &str) -> Value {
    r.get(k).cloned().unwrap_or(Value::Null)
}

/// Copies these columns under the same names.
pub fn copy(from: &Row, to: &mut Row, keys: &[&str]) {
    for k in keys {
        to.insert((*k).to_string(), get(from, k));
    }
}

/// Copies `(old, new)` column pairs.
pub fn rename(from: &Row, to: &mut Row, pairs: &[(&str, &str)]) {
    for (old, new) in pairs {
        to.insert((*new).to_string(), get(from, old));
    }
}

pub fn set(to: &mut Row, k: &str, v: impl Into<Value>) {
    to.insert(k.to_string(), v.into());
}

pub fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, Into::into)
}

/// A JSON object value, or `{}` (for V2 `metadata` columns).
pub fn object_or_empty(r: &Row, k: &str) -> Value {
    match r.get(k) {
        Some(Value::Object(m)) => Value::Object(m.clone()),
        _ => Value::Object(Map::new()),
    }
}

/// A boolean, `default` when null.
pub fn flag(r: &Row, k: &str, default: bool) -> Value {
    Value::Bool(r.get(k).and_then(Value::as_bool).unwrap_or(default))
}

/// Sets a phone column the V2 way: E.164 when the old value parses, else NULL with the old value
/// kept as `metadata.legacy_<column>` (when the row has `metadata`; set that first).
pub fn put_phone(n: &mut Row, col: &str, raw: Option<&str>) {
    let value = match crate::domain::legacy::phone(raw) {
        None => Value::Null,
        Some(Ok(p)) => Value::String(p),
        Some(Err(raw)) => {
            if let Some(Value::Object(m)) = n.get_mut("metadata") {
                m.insert(format!("legacy_{col}"), Value::String(raw));
            }
            Value::Null
        }
    };
    n.insert(col.to_string(), value);
}
