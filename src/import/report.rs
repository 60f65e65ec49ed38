//! The import report: what `--report FILE` writes and what is printed at the end.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OldTableStats {
    pub read: u64,
    pub imported: u64,
    pub merged: u64,
    pub skipped: u64,
    pub skip_reasons: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct NewTableStats {
    pub written: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SampleStats {
    pub checked: u64,
    pub mismatches: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImportReport {
    pub dry_run: bool,
    /// The old clinic ids asked for (`--clinic`); empty = all.
    pub clinics: Vec<Uuid>,
    pub old_tables: BTreeMap<String, OldTableStats>,
    pub new_tables: BTreeMap<String, NewTableStats>,
    /// Old tables the spec removes, with their row counts (whole table).
    pub not_imported: BTreeMap<String, i64>,
    /// Old tables V2 would keep that this importer does not map yet, with their row counts.
    #[serde(default)]
    pub not_mapped: BTreeMap<String, i64>,
    pub sample_check: BTreeMap<String, SampleStats>,
    /// For every old table: read = imported + merged + skipped, read = the rows the table holds
    /// (for the chosen clinics), and no sample mismatched.
    pub reconciled: bool,
}

impl ImportReport {
    /// The printed table: one line per old table, then per new table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "{:<34} {:>9} {:>9} {:>8} {:>8}  skip reasons\n",
            "old table", "read", "imported", "merged", "skips"
        ));
        for (t, s) in &self.old_tables {
            let reasons: Vec<String> = s
                .skip_reasons
                .iter()
                .map(|(r, n)| format!("{r}={n}"))
                .collect();
            out.push_str(&format!(
                "{:<34} {:>9} {:>9} {:>8} {:>8}  {}\n",
                t,
                s.read,
                s.imported,
                s.merged,
                s.skipped,
                reasons.join(", ")
            ));
        }
        out.push_str(&format!("\n{:<34} {:>9}\n", "new table", "written"));
        for (t, s) in &self.new_tables {
            out.push_str(&format!("{:<34} {:>9}\n", t, s.written));
        }
        if !self.not_imported.is_empty() {
            out.push_str("\nnot imported (removed by the spec): ");
            let list: Vec<String> = self
                .not_imported
                .iter()
                .map(|(t, n)| format!("{t}={n}"))
                .collect();
            out.push_str(&list.join(", "));
            out.push('\n');
        }
        if !self.not_mapped.is_empty() {
            out.push_str("not mapped by this importer: ");
            let list: Vec<String> = self
                .not_mapped
                .iter()
                .map(|(t, n)| format!("{t}={n}"))
                .collect();
            out.push_str(&list.join(", "));
            out.push('\n');
        }
        let mismatches: u64 = self.sample_check.values().map(|s| s.mismatches).sum();
        let checked: u64 = self.sample_check.values().map(|s| s.checked).sum();
        out.push_str(&format!(
            "\nsample check: {checked} rows, {mismatches} mismatches; reconciled: {}{}\n",
            self.reconciled,
            if self.dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            }
        ));
        out
    }
}
