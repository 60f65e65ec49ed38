//! `vapi_tool_results`: the answer of each tool call that wrote something, so a redelivered or
//! duplicated tool call answers the same and writes nothing twice
//! (`docs/behaviour.md#vapi-tools`).

use serde_json::Value;
use sqlx::PgConnection;

/// Takes the tool call's lock for the rest of the transaction, then returns its stored answer
/// if an earlier delivery already ran it. Two racing copies serialize here; the second one
/// sees the first one's committed answer.
pub async fn lock_and_get(
    conn: &mut PgConnection,
    vapi_call_id: &str,
    tool_call_id: &str,
) -> Result<Option<Value>, sqlx::Error> {
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended('odis.tool:' || $1 || ':' || $2, 0))",
    )
    .bind(vapi_call_id)
    .bind(tool_call_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar(
        "SELECT result FROM vapi_tool_results WHERE vapi_call_id = $1 AND tool_call_id = $2",
    )
    .bind(vapi_call_id)
    .bind(tool_call_id)
    .fetch_optional(conn)
    .await
}

pub async fn store(
    conn: &mut PgConnection,
    vapi_call_id: &str,
    tool_call_id: &str,
    tool: &str,
    result: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO vapi_tool_results (vapi_call_id, tool_call_id, tool, result)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(vapi_call_id)
    .bind(tool_call_id)
    .bind(tool)
    .bind(result)
    .execute(conn)
    .await
    .map(|_| ())
}
