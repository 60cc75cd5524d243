//! The foundation through the CLI: init, landlords on three engines, servers.

mod common;

use common::Workdir;
use tenantry_domain::{DatabaseName, Dialect};
use tenantry_testkit::{mysql_url, postgres_url, unique_name, Target};

#[test]
fn init_then_server_list_with_no_other_setup() {
    let w = Workdir::new();
    let first = w.run(&["init"]).ok();
    assert!(first.stdout.contains("created config file"), "{}", first.stdout);
    for f in ["tenantry.toml", "data/landlord.db", "data/master.key", "data/tenants"] {
        assert!(w.file(f).exists(), "{f} missing");
    }
    let toml_before = std::fs::read(w.file("tenantry.toml")).unwrap();
    let key_before = std::fs::read(w.file("data/master.key")).unwrap();

    let second = w.run(&["init", "--json"]).ok().json();
    assert_eq!(second["created"], serde_json::json!([]), "second init changes nothing");
    assert_eq!(std::fs::read(w.file("tenantry.toml")).unwrap(), toml_before);
    assert_eq!(std::fs::read(w.file("data/master.key")).unwrap(), key_before);
    assert!(w.run(&["init"]).ok().stdout.contains("nothing changed"));

    let list = w.run(&["server", "list", "--json"]).ok().json();
    let servers = list.as_array().unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0]["name"], "local");
    assert_eq!(servers[0]["dialect"], "sqlite");
    assert_eq!(servers[0]["tenants"], 0);

    // The same from another directory, through --config.
    let elsewhere = Workdir::new();
    let cfg = w.file("tenantry.toml");
    let via_config = elsewhere.run(&["--config", cfg.to_str().unwrap(), "server", "list", "--json"]).ok().json();
    assert_eq!(via_config[0]["name"], "local");
}

#[test]
fn init_into_a_named_directory() {
    let w = Workdir::new();
    w.run(&["init", "--dir", "deploy/tenantry"]).ok();
    assert!(w.file("deploy/tenantry/tenantry.toml").exists());
    assert!(w.file("deploy/tenantry/data/landlord.db").exists());
}

#[tokio::test]
async fn landlord_on_mysql_and_postgres_is_created_and_migrated() {
    for (dialect, server) in [(Dialect::Mysql, mysql_url()), (Dialect::Postgres, postgres_url())] {
        let target = Target::new(dialect).await;
        let name = unique_name("cli");
        let landlord = format!("{server}/{name}");
        let w = Workdir::new();
        let list = w.run(&["--landlord", &landlord, "server", "list", "--json"]).ok().json();
        assert_eq!(list, serde_json::json!([]), "{dialect}");
        let db = DatabaseName::new(&name).unwrap();
        assert!(target.driver.database_exists(&db).await.unwrap(), "{dialect}: landlord database created");
        let schema = target.driver.introspect(&db).await.unwrap();
        for table in [
            "tenants", "tenant_users", "tenant_databases", "tenant_applications", "tenant_templates",
            "template_modules", "template_migrations", "tenant_applied_migrations", "tenant_migrations_history",
            "tenant_customizations", "database_servers", "template_versions", "rollouts", "audit_log", "accounts",
            "api_tokens", "tenantry_landlord_migrations",
        ] {
            assert!(schema.tables.contains_key(table), "{dialect}: landlord lacks {table}");
        }
        let fk = &schema.tables["tenant_migrations_history"].foreign_keys;
        assert!(fk.values().any(|f| f.referenced_table == "tenants" && f.on_delete == "CASCADE"), "{dialect}: {fk:?}");
        // The environment variable works as the flag does, and a second run is a no-op.
        let w2 = Workdir::new().with_env("TENANTRY_LANDLORD_URL", &landlord);
        w2.run(&["server", "list"]).ok();
        target.driver.drop_database(&db).await.unwrap();
    }
}

#[test]
fn hostile_landlord_database_names_are_refused() {
    let w = Workdir::new();
    for bad in ["a%60b", "x;drop", "..", "mysql", "UPPER"] {
        let run = w.run(&["--landlord", &format!("{}/{bad}", mysql_url()), "server", "list"]).fails_with(1);
        assert!(run.stderr.contains("landlord"), "{bad}: {}", run.stderr);
    }
}

#[tokio::test]
async fn servers_of_every_engine_are_added_and_listed_without_credentials() {
    let w = Workdir::new();
    w.run(&["init"]).ok();
    let pg = postgres_url();
    let my = mysql_url();
    let sqlite_dir = w.file("more-tenants");
    let sqlite = format!("sqlite://{}", sqlite_dir.display());
    w.run(&["server", "add", "pg-main", &pg, "--capacity", "300", "--max-concurrency", "4"]).ok();
    let added = w.run(&["--json", "server", "add", "maria-main", &my]).ok().json();
    assert_eq!(added["dialect"], "mysql");
    w.run(&["server", "add", "files", &sqlite]).ok();
    assert!(sqlite_dir.is_dir());

    let list = w.run(&["server", "list", "--json"]).ok().json();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["files", "local", "maria-main", "pg-main"]);
    let pg_row = list.as_array().unwrap().iter().find(|s| s["name"] == "pg-main").unwrap();
    assert_eq!((pg_row["capacity"].as_i64(), pg_row["max_concurrency"].as_i64()), (Some(300), Some(4)));

    // Same name twice: conflict, exit 3.
    let dup = w.run(&["server", "add", "pg-main", &pg]).fails_with(3);
    assert!(dup.stderr.contains("already exists"));
}

#[test]
fn failed_server_checks_store_nothing_and_never_print_passwords() {
    let w = Workdir::new();
    w.run(&["init"]).ok();
    let cases = [
        ("down", "mysql://root:hunter2@127.0.0.1:3399".to_string(), 5),
        ("badpw", "postgres://nobody:hunter2@127.0.0.1:5432".to_string(), 1),
        ("weird", "oracle://u:hunter2@h".to_string(), 2),
        ("x;drop", format!("{}", mysql_url()), 2),
        ("Upper", format!("{}", mysql_url()), 2),
        ("ok", format!("{}", mysql_url()), 0),
    ];
    for (name, url, code) in &cases {
        let run = w.run(&["server", "add", name, url, "--max-concurrency", "2"]).fails_with(*code);
        assert!(!run.stderr.contains("hunter2") && !run.stdout.contains("hunter2"), "{name}: {}", run.stderr);
    }
    let json = w.run(&["--json", "server", "add", "neg", &mysql_url(), "--capacity=0"]).fails_with(2);
    let err: serde_json::Value = serde_json::from_str(json.stderr.trim()).unwrap();
    assert_eq!(err["error"]["code"], "invalid");

    let list = w.run(&["server", "list", "--json"]).ok().json();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["local", "ok"], "only the good servers are stored");
    let landlord = std::fs::read(w.file("data/landlord.db")).unwrap();
    assert!(!String::from_utf8_lossy(&landlord).contains("hunter2"));
}
