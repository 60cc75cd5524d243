//! Templates as code through the CLI, built on SQLite, MariaDB and PostgreSQL.

mod common;

use common::{fleet, Workdir, bundled};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tenantry_domain::template::TemplateBundle;
use tenantry_domain::{Dialect, DatabaseName};
use tenantry_schema::Schema;
use tenantry_testkit::{client, ScratchDb, Target};

/// Tests here count scratch databases on the shared servers: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());


/// A landlord with the local SQLite server plus the test MariaDB and PostgreSQL.

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of a bundled template in the workdir, to edit.
fn editable(w: &Workdir, name: &str) -> PathBuf {
    static COPIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = w.file(&format!("src-{name}-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    copy_dir(&bundled(name), &dir);
    dir
}

async fn scratch_databases() -> Vec<String> {
    let mut all = Vec::new();
    for d in [Dialect::Mysql, Dialect::Postgres] {
        let t = Target::new(d).await;
        all.extend(t.driver.list_databases("tenantry_scratch_").await.unwrap());
    }
    all
}

#[tokio::test]
async fn political_party_snapshot_equals_what_the_plain_clients_build() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let w = fleet();
    let report = w.run(&["--json", "template", "import", bundled("political_party").to_str().unwrap()]).ok().json();
    assert_eq!(report["status"], "created");
    assert_eq!(report["versions"], serde_json::json!(["1.0.0", "1.1.0", "1.2.0"]));
    assert_eq!(report["built"], serde_json::json!(["mysql", "postgres", "sqlite"]));

    let files = tenantry_engine::templates::load::read_dir(&bundled("political_party")).unwrap();
    let bundle = TemplateBundle::from_files(files).unwrap();
    for target in Target::all().await {
        let d = target.dialect;
        let snap = w.run(&["--json", "template", "snapshot", "political_party", "--dialect", d.as_str()]).ok().json();
        let schema: Schema = serde_json::from_value(snap["schema"].clone()).unwrap();
        assert!(schema.tables.len() >= 15, "{d}: {} tables", schema.tables.len());
        let members = &schema.tables["members"];
        assert!(members.primary_key.is_some() && members.indexes.contains_key("uq_members_email"), "{d}");
        assert!(members.foreign_keys.contains_key("fk_members_branch"), "{d}");
        assert!(schema.views.contains_key("active_members") && schema.views.contains_key("election_results"), "{d}");
        assert_eq!(snap["module_tables"]["fundraising"], serde_json::json!(["campaigns", "donations"]));

        // The same files through the engine's own command-line client.
        let db = ScratchDb::create(&target, "client").await;
        let plan = bundle.build_plan(d, &bundle.all_modules(), &bundle.manifest.version, true);
        for step in &plan {
            let file = bundled("political_party").join(&step.file);
            client::run_file(&target, &db.name, &file).unwrap_or_else(|e| panic!("{d}: {}: {e}", step.file));
        }
        let by_client = target.driver.introspect(&db.name).await.unwrap();
        assert_eq!(by_client.to_json(), schema.to_json(), "{d}: snapshot differs from the client-built database");
    }
    // Older versions are reachable without ever importing their directories.
    let old = w.run(&["--json", "template", "snapshot", "political_party", "--version", "1.0.0", "--dialect", "sqlite"]).ok().json();
    let members = old["schema"]["tables"]["members"]["columns"].as_array().unwrap();
    assert!(!members.iter().any(|c| c["name"] == "notes"), "1.0.0 predates 0002_member_notes");
}

#[tokio::test]
async fn every_bundled_template_imports_on_all_engines() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let w = fleet();
    for name in ["basic", "ngo", "political_party", "corporate"] {
        let r = w.run(&["--json", "template", "import", bundled(name).to_str().unwrap()]).ok().json();
        assert_eq!(r["built"], serde_json::json!(["mysql", "postgres", "sqlite"]), "{name}");
        let files = tenantry_engine::templates::load::read_dir(&bundled(name)).unwrap();
        let b = TemplateBundle::from_files(files).unwrap();
        assert!(b.migrations.len() >= 2, "{name}: at least two migrations");
        assert!(b.modules.values().any(|m| m.manifest.module_type != tenantry_domain::template::ModuleType::Core), "{name}: optional modules");
    }
    let list = w.run(&["--json", "template", "list"]).ok().json();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["basic", "corporate", "ngo", "political_party"]);
    let show = w.run(&["--json", "template", "show", "ngo"]).ok().json();
    assert_eq!(show["versions"].as_array().unwrap().len(), 3);
    assert_eq!(show["migrations"].as_array().unwrap().len(), 2);
    let text = w.run(&["template", "show", "political_party"]).ok().stdout;
    assert!(text.contains("derived from 1.2.0") && text.contains("0003_donation_receipts → 1.2.0 (tenants with fundraising)"), "{text}");
}

#[tokio::test]
async fn reimport_version_bump_locking_and_export_round_trip() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let w = fleet();
    let src = editable(&w, "basic");
    let src_s = src.to_str().unwrap();
    w.run(&["template", "import", src_s]).ok();
    let again = w.run(&["--json", "template", "import", src_s]).ok().json();
    assert_eq!(again["status"], "unchanged");

    // Changed content under the same, unlocked version replaces it.
    std::fs::write(src.join("modules/core/seed.sql"), "INSERT INTO groups_ (name) VALUES ('staff');\n").unwrap();
    let replaced = w.run(&["--json", "template", "import", src_s]).ok().json();
    assert_eq!(replaced["status"], "replaced");

    // A tenant uses 1.2.0 now: its content is frozen.
    let landlord = tenantry_store::Landlord::open(&format!("sqlite://{}", w.file("data/landlord.db").display())).await.unwrap();
    let t = landlord.template("basic").await.unwrap().unwrap();
    landlord.lock_version(t.id, "1.2.0").await.unwrap();
    landlord.close().await;
    std::fs::write(src.join("modules/core/seed.sql"), "INSERT INTO groups_ (name) VALUES ('other');\n").unwrap();
    let refused = w.run(&["--json", "template", "import", src_s]).fails_with(1);
    assert!(refused.stderr.contains("cannot change") && refused.stderr.contains("\"locked\""), "{}", refused.stderr);

    // A version bump with a migration that matches the modules is a new version.
    std::fs::write(src.join("template.toml"), std::fs::read_to_string(src.join("template.toml")).unwrap().replace("version = \"1.2.0\"", "version = \"1.3.0\"")).unwrap();
    let mig = src.join("migrations/0004_people_title");
    std::fs::create_dir_all(&mig).unwrap();
    std::fs::write(mig.join("migration.toml"), "version = \"1.3.0\"\n").unwrap();
    std::fs::write(mig.join("up.sql"), "ALTER TABLE people ADD COLUMN title VARCHAR(40) NULL;\n").unwrap();
    std::fs::write(mig.join("down.sql"), "ALTER TABLE people DROP COLUMN title;\n").unwrap();
    for d in ["mysql", "postgres", "sqlite"] {
        let p = src.join(format!("modules/core/schema.{d}.sql"));
        let s = std::fs::read_to_string(&p).unwrap().replace("  phone VARCHAR(40) NULL,\n", "  phone VARCHAR(40) NULL,\n  title VARCHAR(40) NULL,\n");
        std::fs::write(p, s).unwrap();
    }
    let bumped = w.run(&["--json", "template", "import", src_s]).ok().json();
    assert_eq!((bumped["status"].as_str(), bumped["versions"].clone()), (Some("new_version"), serde_json::json!(["1.3.0"])));
    // An older directory than the newest stored version is refused.
    let older = editable(&w, "basic");
    let m = std::fs::read_to_string(older.join("template.toml")).unwrap().replace("version = \"1.2.0\"", "version = \"1.2.5\"");
    std::fs::write(older.join("template.toml"), m).unwrap();
    let old = w.run(&["template", "import", older.to_str().unwrap()]).fails_with(2);
    assert!(old.stderr.contains("already at 1.3.0"), "{}", old.stderr);
    // The stored 1.2.0 itself, changed, is refused as locked.
    let locked = w.run(&["template", "import", bundled("basic").to_str().unwrap()]).fails_with(1);
    assert!(locked.stderr.contains("is used by tenants and cannot change"), "{}", locked.stderr);

    // Export writes back the directory as imported, byte for byte.
    let out = w.file("exported");
    w.run(&["template", "export", "basic", out.to_str().unwrap()]).ok();
    let original = tenantry_engine::templates::load::read_dir(&src).unwrap();
    let exported = tenantry_engine::templates::load::read_dir(&out).unwrap();
    assert_eq!(original, exported);
    assert_eq!(w.run(&["--json", "template", "import", out.to_str().unwrap()]).ok().json()["status"], "unchanged");
    // Derived versions have no directory of their own.
    let derived = w.run(&["template", "export", "basic", w.file("x").to_str().unwrap(), "--version", "1.0.0"]).fails_with(2);
    assert!(derived.stderr.contains("derived"), "{}", derived.stderr);
}

#[tokio::test]
async fn a_failing_statement_names_module_statement_and_line_and_leaves_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let w = fleet();
    let before = scratch_databases().await;
    for d in ["mysql", "postgres", "sqlite"] {
        let src = editable(&w, "basic");
        // Keep only the engine under test so each failure is that engine's.
        let manifest = std::fs::read_to_string(src.join("template.toml")).unwrap();
        std::fs::write(src.join("template.toml"), manifest.replace("dialects = [\"mysql\", \"postgres\", \"sqlite\"]", &format!("dialects = [\"{d}\"]"))).unwrap();
        let schema = src.join(format!("modules/notes/schema.{d}.sql"));
        let six_good: String = (1..=6).map(|i| format!("CREATE TABLE t{i} (id INTEGER PRIMARY KEY);\n")).collect();
        std::fs::write(&schema, format!("{six_good}-- the seventh is broken\nCREATE TABLE broken (id INTEGER PRIMARY KEY,, oops);\n")).unwrap();
        let run = w.run(&["--json", "template", "import", src.to_str().unwrap()]).fails_with(1);
        let err: serde_json::Value = serde_json::from_str(run.stderr.trim()).unwrap();
        let msg = err["error"]["message"].as_str().unwrap();
        assert_eq!(err["error"]["code"], "template_build", "{d}: {msg}");
        assert!(msg.contains(&format!("module `notes` (modules/notes/schema.{d}.sql)")), "{d}: {msg}");
        assert!(msg.contains("statement 7 (line 8)"), "{d}: {msg}");
        assert!(msg.contains(&format!("on {d}")), "{d}: {msg}");
        std::fs::remove_dir_all(&src).unwrap();
    }
    assert_eq!(w.run(&["--json", "template", "list"]).ok().json(), serde_json::json!([]), "nothing stored");
    assert_eq!(scratch_databases().await, before, "no scratch database left behind");
    let leftovers: Vec<_> = std::fs::read_dir(w.file("data/tenants")).unwrap().filter_map(|e| e.ok()).collect();
    assert!(leftovers.is_empty(), "no SQLite scratch file left: {leftovers:?}");
}

#[tokio::test]
async fn a_migration_that_forgets_a_column_is_refused_naming_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let w = fleet();
    let src = editable(&w, "basic");
    // Break 0002: it no longer adds `phone`, which the modules still have.
    std::fs::write(src.join("migrations/0002_people_phone/up.sql"), "SELECT 1;\n").unwrap();
    std::fs::write(src.join("migrations/0002_people_phone/down.sql"), "ALTER TABLE people DROP COLUMN phone;\n").unwrap();
    let run = w.run(&["template", "import", src.to_str().unwrap()]).fails_with(1);
    assert!(run.stderr.contains("missing column people.phone"), "{}", run.stderr);
    assert!(run.stderr.contains("0002_people_phone"), "{}", run.stderr);
    assert_eq!(w.run(&["--json", "template", "list"]).ok().json(), serde_json::json!([]));

    // And across imports: 1.2.0 stored, then 1.3.0 whose modules gained a column no migration adds.
    let good = editable(&w, "corporate");
    w.run(&["template", "import", good.to_str().unwrap()]).ok();
    let manifest = std::fs::read_to_string(good.join("template.toml")).unwrap().replace("version = \"1.2.0\"", "version = \"1.3.0\"");
    std::fs::write(good.join("template.toml"), manifest).unwrap();
    for d in ["mysql", "postgres", "sqlite"] {
        let p = good.join(format!("modules/core/schema.{d}.sql"));
        let s = std::fs::read_to_string(&p).unwrap().replace("  cost_center VARCHAR(20) NULL,\n", "  cost_center VARCHAR(20) NULL,\n  budget_code VARCHAR(20) NULL,\n");
        std::fs::write(p, s).unwrap();
    }
    let run = w.run(&["template", "import", good.to_str().unwrap()]).fails_with(1);
    assert!(run.stderr.contains("missing column departments.budget_code"), "{}", run.stderr);
    let show = w.run(&["--json", "template", "show", "corporate"]).ok().json();
    assert_eq!(show["version"], "1.2.0", "the refused version is not stored");
}

#[test]
fn invalid_directories_are_refused_with_every_problem() {
    let w = Workdir::new();
    w.run(&["init"]).ok();
    let src = editable(&w, "ngo");
    std::fs::write(src.join("template.toml"), std::fs::read_to_string(src.join("template.toml")).unwrap() + "\n[modules.ghost]\ntype = \"optional\"\ndepends_on = [\"phantom\"]\n").unwrap();
    std::fs::remove_file(src.join("modules/core/schema.sqlite.sql")).unwrap();
    let run = w.run(&["template", "import", src.to_str().unwrap()]).fails_with(2);
    for expected in [
        "module `core` has no schema for sqlite",
        "module `ghost` depends on `phantom`, which is not declared",
        "module `ghost` has no schema for mysql",
    ] {
        assert!(run.stderr.contains(expected), "missing `{expected}` in {}", run.stderr);
    }
    let missing = w.run(&["template", "import", "/nonexistent/dir"]).fails_with(2);
    assert!(missing.stderr.contains("not a directory"));
    let _ = DatabaseName::new("unused");
}
