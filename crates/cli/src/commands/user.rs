use crate::cli::UserCommand;
use crate::output;
use super::progress::actor;
use tenantry_engine::Engine;

pub async fn run(engine: &Engine, cmd: UserCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add { email, role, tenant } => {
            let a = engine.add_account(&email, &role, tenant.as_deref(), None).await?;
            engine.audit(&actor(), "account.add", Some(&email), Some(&serde_json::json!({"role": role, "tenant": tenant})), Some("cli")).await;
            if json {
                return output::json(&a);
            }
            println!("account {} ({}{}) created; one-time password: {}", a.account.email, a.account.role, a.account.tenant.as_deref().map(|t| format!(", tenant {t}")).unwrap_or_default(), a.password);
            Ok(())
        }
        UserCommand::List => {
            let list = engine.accounts().await?;
            if json {
                return output::json(&list);
            }
            output::table(
                &["email", "role", "tenant", "created"],
                list.iter().map(|a| vec![a.email.clone(), a.role.clone(), a.tenant.clone().unwrap_or_else(|| "platform".into()), a.created_at.clone()]).collect(),
            );
            Ok(())
        }
        UserCommand::Token { email, name, scopes, expires_days } => {
            let t = engine.create_token(&email, &name, &scopes, expires_days).await?;
            engine.audit(&actor(), "token.create", Some(&email), Some(&serde_json::json!({"name": name, "scopes": scopes})), Some("cli")).await;
            if json {
                return output::json(&t);
            }
            println!("{}", t.token);
            Ok(())
        }
        UserCommand::ResetPassword { email } => {
            let p = engine.reset_password(&email).await?;
            engine.audit(&actor(), "account.reset_password", Some(&email), None, Some("cli")).await;
            if json {
                return output::json(&serde_json::json!({"email": email, "password": p}));
            }
            println!("new one-time password for {email}: {p}");
            Ok(())
        }
    }
}
