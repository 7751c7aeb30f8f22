//! The variables init.toml's string values refer to, found before anything
//! is rendered: only those may be taken from `X_FILE` (docs/reference.md, "Secrets").

use std::collections::BTreeSet;

use toml::de::{DeTable, DeValue};

use crate::template;

/// Placeholder names in every string value of `text`, in every table and
/// array. Keys are names, not templates, and are skipped.
pub fn in_strings(text: &str) -> BTreeSet<String> {
    let (doc, _) = DeTable::parse_recoverable(text);
    let mut names = BTreeSet::new();
    for (_, value) in doc.get_ref().iter() {
        collect(value.get_ref(), &mut names);
    }
    names
}

fn collect(value: &DeValue<'_>, names: &mut BTreeSet<String>) {
    match value {
        DeValue::String(s) => names.extend(template::names(s).into_iter().map(str::to_string)),
        DeValue::Array(items) => items.iter().for_each(|v| collect(v.get_ref(), names)),
        DeValue::Table(table) => table.iter().for_each(|(_, v)| collect(v.get_ref(), names)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_value_counts_and_keys_do_not() {
        let text = r#"
[env]
DB_URL = "postgres://app:<<DB_PASSWORD>>@db/app"
KEY_FILE_NAME = "plain"

[[wait]]
file = "<<DB_SEMAPHORE:->>"
command = ["sh", "-c", "test <<TOKEN>>"]

[[service]]
name = "web"
command = ["run", "\\<<NOT_ME>>"]
env = { API = "<<API_KEY-none>>" }
"#;
        let names: Vec<String> = in_strings(text).into_iter().collect();
        assert_eq!(names, ["API_KEY", "DB_PASSWORD", "DB_SEMAPHORE", "TOKEN"]);
    }

    #[test]
    fn a_broken_file_still_gives_the_names_it_can() {
        let names = in_strings("[env]\nA = \"<<X>>\"\nB = ");
        assert!(names.contains("X"), "{names:?}");
    }
}
