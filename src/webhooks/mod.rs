//! Webhook ingress (VAPI, Clerk, QStash). Routes are added by the webhook issue.

use axum::Router;

use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
