//! Background jobs. The Postgres-backed engine arrives with the job-engine issue; until then
//! the workers only wait for shutdown.

use tokio_util::sync::CancellationToken;

use crate::http::AppState;

pub async fn run_workers(_state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    shutdown.cancelled().await;
    Ok(())
}
