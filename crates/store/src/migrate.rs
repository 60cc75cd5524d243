//! The landlord's own schema migrations: applied in order on open, under a lock,
//! each recorded with its checksum so a hand-edited landlord is noticed.

use crate::{Landlord, StoreError};
use sha2::{Digest, Sha256};
use sqlx::{Acquire, AnyConnection};

/// (version, name, DDL template). Append only: a released migration never changes.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "landlord", include_str!("migrations/0001_landlord.sql")),
    (2, "drift", include_str!("migrations/0002_drift.sql")),
    (3, "web", include_str!("migrations/0003_web.sql")),
    (4, "provisioning", include_str!("migrations/0004_provisioning.sql")),
];

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS tenantry_landlord_migrations (\
    version BIGINT NOT NULL PRIMARY KEY, name VARCHAR(200) NOT NULL, \
    checksum VARCHAR(64) NOT NULL, applied_at VARCHAR(40) NOT NULL)";

/// The newest landlord schema version this build knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

pub(crate) async fn current_version(l: &Landlord) -> Result<i64, StoreError> {
    let rows = l.fetch_all("SELECT version FROM tenantry_landlord_migrations ORDER BY version DESC", vec![]).await?;
    Ok(rows.first().map(|r| sqlx::Row::try_get::<i64, _>(r, 0)).transpose().map_err(StoreError::query("version"))?.unwrap_or(0))
}

pub(crate) async fn run(l: &Landlord) -> Result<(), StoreError> {
    let mut conn = l.pool.acquire().await.map_err(StoreError::query("migrate: acquire"))?;
    let lock = l.dialect.lock_sql();
    sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(lock.take)).await.map_err(StoreError::query("migration lock"))?;
    let result = apply(l, &mut conn).await;
    let release = if result.is_ok() { lock.on_success } else { lock.on_failure };
    let released = sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(release)).await;
    result?;
    released.map_err(StoreError::query("migration commit"))?;
    Ok(())
}

async fn apply(l: &Landlord, conn: &mut AnyConnection) -> Result<(), StoreError> {
    sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(LEDGER)).await.map_err(StoreError::query("migration ledger"))?;
    let applied: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, checksum FROM tenantry_landlord_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::query("applied migrations"))?;
    let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if let Some((found, _)) = applied.iter().find(|(v, _)| *v > known) {
        return Err(StoreError::TooNew { found: *found, known });
    }
    for (version, name, template) in MIGRATIONS {
        let expected = checksum(template);
        if let Some((_, found)) = applied.iter().find(|(v, _)| v == version) {
            if *found != expected {
                return Err(StoreError::ChecksumMismatch { version: *version, found: found.clone(), expected });
            }
            continue;
        }
        let ddl = l.dialect.ddl(template);
        let statements = tenantry_domain::sql::split_script(l.dialect.splitter(), &ddl)
            .map_err(|e| StoreError::Corrupt(format!("landlord migration {version} cannot be split: {e}")))?;
        let record = l.sql("INSERT INTO tenantry_landlord_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)");
        let fail = |statement: usize| move |source| StoreError::Migration { version: *version, name: name.to_string(), statement, source };
        if l.dialect.transaction_per_migration() {
            let mut tx = conn.begin().await.map_err(fail(0))?;
            for st in &statements {
                sqlx::Executor::execute(&mut *tx, sqlx::raw_sql(&st.sql)).await.map_err(fail(st.number))?;
            }
            sqlx::query(&record).bind(*version).bind(*name).bind(&expected).bind(crate::time::now())
                .execute(&mut *tx).await.map_err(fail(0))?;
            tx.commit().await.map_err(fail(0))?;
        } else {
            for st in &statements {
                sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(&st.sql)).await.map_err(fail(st.number))?;
            }
            sqlx::query(&record).bind(*version).bind(*name).bind(&expected).bind(crate::time::now())
                .execute(&mut *conn).await.map_err(fail(0))?;
        }
        tracing::info!(version, name, "applied landlord migration");
    }
    Ok(())
}
