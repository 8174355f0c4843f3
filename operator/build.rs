//! Rebuild when a migration is added (`sqlx::migrate!` embeds the migrations directory).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
