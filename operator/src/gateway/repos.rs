//! `/api/repos`: the repos sessions may run in.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use cockpit_api::api::RepoView;

use crate::app::App;

/// `GET /api/repos`.
pub async fn repos(State(app): State<Arc<App>>) -> Json<Vec<RepoView>> {
    Json(
        app.config
            .repos
            .iter()
            .map(|r| RepoView { name: r.name.clone(), is_git: r.path.join(".git").exists() })
            .collect(),
    )
}
