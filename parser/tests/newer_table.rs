//! The table of directives strait accepts and Debian's nginx 1.22.1 does not
//! (testdata/corpus/README.md) must list exactly what the registry says.

use strait_parser::registry::newer_than_debian;

#[test]
fn readme_table_matches_the_registry() {
    let readme = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/corpus/README.md"
    ))
    .unwrap();
    let section = readme.split("## Directives newer than Debian's nginx").nth(1).unwrap();
    let mut listed: Vec<String> = section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .map(|rest| rest.split('`').next().unwrap().to_string())
        .collect();
    let mut expected: Vec<String> =
        newer_than_debian().map(|spec| format!("{} {}", spec.name, spec.since)).collect();
    listed.sort();
    expected.sort();
    expected.dedup();
    assert_eq!(listed, expected, "update the table in testdata/corpus/README.md");
}
