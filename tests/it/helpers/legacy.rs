//! The old (pre-V2) database of a `#[sqlx::test]`: a fresh database on the same server, named
//! after the test's database (`<hash of the test database name>_legacy`, so tests running at
//! once never share one), with `docs/spec/legacy-tables.sql` loaded and realistic rows generated
//! (`odis_worker::bench::legacy_gen`, the same generator `bench import` uses; what it contains is
//! described there, the awkward rows' ids are in `legacy_gen::awkward`). Dropped by
//! [`Legacy::drop_db`] at the end of the test, or, when the test panics before, on drop.
//!
//! ```ignore
//! let old = legacy::old_database(&pool, LegacySize::TEST).await;
//! let report = import::run(&pool, &options(&old)).await.unwrap();
//! old.drop_db().await;
//! ```

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

pub use odis_worker::bench::legacy_gen::{self, awkward, LegacyDb, LegacySize};
use sqlx::{Connection, PgConnection, PgPool};

use super::app;

pub struct Legacy {
    /// `None` once dropped.
    db: Option<LegacyDb>,
    pub url: String,
    /// The old database's name.
    pub name: String,
}

/// The old database's name for the test database `test_db`.
pub fn name_for(test_db: &str) -> String {
    let mut h = DefaultHasher::new();
    test_db.hash(&mut h);
    format!("sqlx_{:016x}_legacy", h.finish())
}

/// Creates, loads and fills the old database of the test whose pool is `pool`.
pub async fn old_database(pool: &PgPool, size: LegacySize) -> Legacy {
    let test_db = pool
        .connect_options()
        .get_database()
        .expect("the test pool names its database")
        .to_string();
    let server = app::database_url(pool);
    let db = LegacyDb::create(&server, &name_for(&test_db))
        .await
        .expect("create the old database");
    db.build(size).await.expect("build the old database");
    Legacy {
        url: db.url.clone(),
        name: db.name.clone(),
        db: Some(db),
    }
}

impl Legacy {
    /// A connection to the old database (for test setup and for reading it back).
    pub async fn conn(&self) -> PgConnection {
        PgConnection::connect(&self.url)
            .await
            .expect("connect to the old database")
    }

    /// Rows of one old table.
    pub async fn count(&self, table: &str) -> i64 {
        let mut conn = self.conn().await;
        let n = odis_worker::db::legacy_fixture::table_counts(&mut conn)
            .await
            .expect("count the old tables")
            .into_iter()
            .find(|(t, _)| t == table)
            .unwrap_or_else(|| panic!("no old table {table}"))
            .1;
        conn.close().await.ok();
        n
    }

    pub async fn drop_db(mut self) {
        if let Some(db) = self.db.take() {
            db.drop_db().await.expect("drop the old database");
        }
    }
}

impl Drop for Legacy {
    fn drop(&mut self) {
        // A test that failed before drop_db: clean up on a thread of its own (we may be inside
        // the test's runtime, which cannot be blocked on).
        if let Some(db) = self.db.take() {
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    let _ = rt.block_on(db.drop_db());
                }
            })
            .join();
        }
    }
}
