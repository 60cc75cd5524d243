//! The landlord on SQLite, MariaDB and PostgreSQL.

use tenantry_domain::{DatabaseName, Dialect, ServerName};
use tenantry_store::{Landlord, NewServer, StoreError};
use tenantry_testkit::{unique_name, Target};

/// A fresh landlord database name on `target`, dropped by the returned guard's owner.
async fn with_landlord<F, Fut>(target: &Target, f: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let name = unique_name("landlord");
    let url = target.landlord_url(&name);
    f(url).await;
    if target.dialect != Dialect::Sqlite {
        target.driver.drop_database(&DatabaseName::new(&name).unwrap()).await.unwrap();
    }
}

#[tokio::test]
async fn landlord_is_created_migrated_once_and_reopened() {
    for target in Target::all().await {
        with_landlord(&target, |url| async move {
            // Several tenantry processes starting at once on a new landlord.
            let opens = futures::future::join_all((0..4).map(|_| Landlord::open(&url))).await;
            for o in &opens {
                assert!(o.is_ok(), "{}: {:?}", target.dialect, o.as_ref().err());
            }
            let l = opens.into_iter().next().unwrap().unwrap();
            assert_eq!(l.schema_version().await.unwrap(), tenantry_store::latest_schema_version());
            assert_eq!(l.dialect(), target.dialect);
            l.close().await;
            let again = Landlord::open(&url).await.unwrap();
            assert_eq!(again.schema_version().await.unwrap(), tenantry_store::latest_schema_version());
            again.close().await;
        })
        .await;
    }
}

#[tokio::test]
async fn servers_are_unique_and_listed_without_secrets() {
    for target in Target::all().await {
        with_landlord(&target, |url| async move {
            let l = Landlord::open(&url).await.unwrap();
            let new = NewServer {
                name: ServerName::new("eu-1").unwrap(),
                dialect: Dialect::Mysql,
                url_redacted: "mysql://root:***@db:3306".into(),
                url_secret: "ciphertext".into(),
                capacity: 500,
                max_concurrency: 4,
            };
            let rec = l.insert_server(&new).await.unwrap();
            assert_eq!((rec.name.as_str(), rec.capacity, rec.tenants), ("eu-1", 500, 0));
            let dup = l.insert_server(&new).await.unwrap_err();
            assert!(matches!(dup, StoreError::Conflict { .. }), "{}: {dup:?}", target.dialect);
            let all = l.servers().await.unwrap();
            assert_eq!(all.len(), 1);
            let json = serde_json::to_string(&all).unwrap();
            assert!(!json.contains("ciphertext"), "{json}");
            l.close().await;
        })
        .await;
    }
}

#[tokio::test]
async fn a_tampered_landlord_is_refused() {
    for target in Target::all().await {
        with_landlord(&target, |url| async move {
            let l = Landlord::open(&url).await.unwrap();
            l.close().await;
            // Simulate a landlord migrated by a newer tenantry.
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
            sqlx::Executor::execute(
                &mut conn,
                "INSERT INTO tenantry_landlord_migrations (version, name, checksum, applied_at) VALUES (999, 'future', 'x', 'now')",
            )
            .await
            .unwrap();
            let err = Landlord::open(&url).await.err().expect("must refuse");
            assert!(matches!(err, StoreError::TooNew { found: 999, known } if known == tenantry_store::latest_schema_version()), "{err}");
        })
        .await;
    }
}
