//! The checked-in CRD YAML and TypeScript types must be exactly what the Rust types generate.

use std::path::Path;

#[test]
fn checked_in_files_match_the_rust_types() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = cockpit_api::codegen::generated_files().expect("generation works");
    assert_eq!(files.len(), 5, "two CRDs, their copies in the Helm chart, one TypeScript module");
    for file in files {
        let path = root.join(&file.path);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|err| {
            panic!("{} is missing ({err}): run `cargo run -p cockpit-api --bin crdgen`", path.display())
        });
        assert!(
            on_disk == file.contents,
            "{} differs from what the Rust types generate: run `cargo run -p cockpit-api --bin crdgen`",
            file.path.display()
        );
    }
}

#[test]
fn crds_have_the_expected_names_columns_and_subresources() {
    use kube::CustomResourceExt;
    let crd = cockpit_api::ClaudeSession::crd();
    assert_eq!(crd.metadata.name.as_deref(), Some("claudesessions.cockpit.dev"));
    assert_eq!(crd.spec.scope, "Namespaced");
    assert!(crd.spec.names.short_names.as_ref().is_some_and(|s| s.contains(&"csn".to_owned())));
    let version = &crd.spec.versions[0];
    assert_eq!(version.name, "v1alpha1");
    assert!(version.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some(), "status subresource");
    let columns: Vec<&str> = version.additional_printer_columns.iter().flatten().map(|c| c.name.as_str()).collect();
    assert_eq!(columns, ["Repo", "Phase", "Activity", "Account", "Age"]);
    let account = cockpit_api::ClaudeAccount::crd();
    assert_eq!(account.metadata.name.as_deref(), Some("claudeaccounts.cockpit.dev"));
}

#[test]
fn every_spec_field_is_documented_for_kubectl_explain() {
    use kube::CustomResourceExt;
    for crd in [cockpit_api::ClaudeSession::crd(), cockpit_api::ClaudeAccount::crd()] {
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).expect("serialises");
        let mut undocumented = Vec::new();
        walk(&schema["openAPIV3Schema"]["properties"]["spec"], "spec", &mut undocumented);
        walk(&schema["openAPIV3Schema"]["properties"]["status"], "status", &mut undocumented);
        assert!(undocumented.is_empty(), "{}: fields without a description: {undocumented:?}", crd.spec.names.kind);
    }

    fn walk(schema: &serde_json::Value, path: &str, undocumented: &mut Vec<String>) {
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            for (name, prop) in props {
                let here = format!("{path}.{name}");
                if prop.get("description").is_none() {
                    undocumented.push(here.clone());
                }
                walk(prop, &here, undocumented);
                if let Some(items) = prop.get("items") {
                    walk(items, &here, undocumented);
                }
            }
        }
    }
}

#[test]
fn cel_rules_accept_valid_sessions_and_reject_a_oneshot_without_prompt() {
    use cockpit_api::{ClaudeSession, ClaudeSessionSpec, SessionMode};
    let mut spec: ClaudeSessionSpec = serde_json::from_value(serde_json::json!({"repo": "web"})).expect("spec");
    let ok = ClaudeSession::new("s1", spec.clone());
    assert!(ok.validate_cel().is_ok(), "an interactive session needs no prompt");
    spec.mode = SessionMode::Oneshot;
    let bad = ClaudeSession::new("s2", spec.clone());
    let err = bad.validate_cel().expect_err("a one-shot session without a prompt is rejected");
    assert!(format!("{err:?}").contains("needs a non-empty spec.prompt"), "{err:?}");
    spec.prompt = Some("fix the tests".into());
    assert!(ClaudeSession::new("s3", spec.clone()).validate_cel().is_ok());

    let mut moved = ClaudeSession::new("s3", spec.clone());
    moved.spec.repo = "other".into();
    assert!(moved.validate_cel_update(&ClaudeSession::new("s3", spec)).is_err(), "repo is immutable");
}
