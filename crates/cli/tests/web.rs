//! The HTTP API and the web UI of `tenantry serve`, end to end: the real binary
//! serving a real landlord, tenants on SQLite, MariaDB and PostgreSQL, an HTTP client
//! for the API and headless Chromium (through chromedriver) for the UI.

mod common;

use common::{Workdir, bundled, slug, wait_until};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;



/// `tenantry serve` on a free port, stopped (SIGTERM, graceful) when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(w: &Workdir) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tenantry"));
        cmd.current_dir(w.path()).args(["serve", "--bind", "127.0.0.1:0"]).stdout(Stdio::null()).stderr(Stdio::piped());
        for k in ["TENANTRY_LANDLORD_URL", "TENANTRY_CONFIG", "TENANTRY_MASTER_KEY"] {
            cmd.env_remove(k);
        }
        let mut child = cmd.spawn().expect("start tenantry serve");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let base = loop {
            let line = lines.next().expect("serve exited before listening").expect("read stderr");
            if let Some(rest) = line.split("serving on ").nth(1) {
                break rest.split_whitespace().next().unwrap().trim_end_matches('/').to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let child = &mut self.child;
        if !wait_until(Duration::from_secs(5), Duration::from_millis(100), || matches!(child.try_wait(), Ok(Some(_)))) {
            let _ = self.child.kill();
        }
    }
}

/// One HTTP answer.
struct Answer {
    status: u16,
    body: String,
    cookie: Option<String>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().redirects(0).build()
}

fn call(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>, content_type: &str) -> Answer {
    let mut req = agent().request(method, url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let res = match body {
        Some(b) => req.set("Content-Type", content_type).send_string(b),
        None => req.call(),
    };
    let res = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = res.status();
    let cookie = res.header("set-cookie").map(|c| c.split(';').next().unwrap_or("").to_string());
    let mut body = String::new();
    let _ = res.into_reader().take(20_000_000).read_to_string(&mut body);
    Answer { status, body, cookie }
}

/// The API as one caller, recording which documented routes it exercised.
struct Client<'a> {
    base: &'a str,
    auth: Vec<(String, String)>,
    seen: &'a std::cell::RefCell<BTreeSet<String>>,
}

impl Client<'_> {
    /// `route` is the documented path (`/tenants/{slug}`), `path` the concrete one.
    fn req(&self, method: &str, route: &str, path: &str, body: Option<Value>) -> Answer {
        self.seen.borrow_mut().insert(format!("{method} {route}"));
        let headers: Vec<(&str, &str)> = self.auth.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let body = body.map(|b| b.to_string());
        call(method, &format!("{}/api/v1{path}", self.base), &headers, body.as_deref(), "application/json")
    }

    #[track_caller]
    fn ok(&self, method: &str, route: &str, path: &str, body: Option<Value>) -> Value {
        let a = self.req(method, route, path, body);
        assert!((200..300).contains(&a.status), "{method} {path}: {} {}", a.status, a.body);
        if a.body.is_empty() { Value::Null } else { a.json() }
    }

    #[track_caller]
    fn fails(&self, method: &str, route: &str, path: &str, body: Option<Value>, status: u16, code: &str) -> Value {
        let a = self.req(method, route, path, body);
        assert_eq!(a.status, status, "{method} {path}: {}", a.body);
        let j = a.json();
        assert_eq!(j["error"]["code"], code, "{method} {path}: {j}");
        assert!(!j["error"]["message"].as_str().unwrap_or("").is_empty());
        j
    }
}

fn bearer(token: &str) -> Vec<(String, String)> {
    vec![("Authorization".into(), format!("Bearer {token}"))]
}

/// A fleet with political_party imported.
fn setup() -> Workdir {
    let w = common::fleet();
    w.run(&["template", "import", bundled("political_party").to_str().unwrap()]).ok();
    w
}

fn template_files(name: &str) -> Value {
    let root = bundled(name);
    let mut files = serde_json::Map::new();
    fn walk(dir: &Path, root: &Path, out: &mut serde_json::Map<String, Value>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().to_string_lossy().into(), Value::String(std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    walk(&root, &root, &mut files);
    Value::Object(files)
}

#[test]
fn api_covers_every_route_with_auth_idor_csrf_and_bad_json() {
    let w = setup();
    let admin = w.run(&["--json", "user", "add", "admin@api.test", "--role", "admin"]).ok().json();
    let password = admin["password"].as_str().unwrap().to_string();
    let token = w.run(&["--json", "user", "token", "admin@api.test", "--name", "ci", "--scopes", "read,write"]).ok().json()["token"].as_str().unwrap().to_string();
    let server = Server::start(&w);
    let seen = std::cell::RefCell::new(BTreeSet::new());
    let api = Client { base: &server.base, auth: bearer(&token), seen: &seen };
    let anon = Client { base: &server.base, auth: vec![], seen: &seen };

    // Public and operational endpoints.
    let doc = anon.ok("GET", "/openapi.json", "/openapi.json", None);
    assert_eq!(doc["openapi"], "3.1.0");
    for p in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(call("GET", &format!("{}{p}", server.base), &[], None, "").status, 200, "{p}");
    }
    // 401 without credentials, with a JSON error.
    anon.fails("GET", "/tenants", "/tenants", None, 401, "unauthorized");
    Client { base: &server.base, auth: bearer("tnt_bogus"), seen: &seen }.fails("GET", "/me", "/me", None, 401, "unauthorized");
    assert_eq!(api.ok("GET", "/me", "/me", None)["role"], "admin");

    // Servers and templates.
    assert_eq!(api.ok("GET", "/servers", "/servers", None).as_array().unwrap().len(), 3);
    let extra_dir = w.file("extra-sqlite");
    api.ok("POST", "/servers", "/servers", Some(json!({"name": "extra", "url": format!("sqlite://{}", extra_dir.display())})));
    api.fails("POST", "/servers", "/servers", Some(json!({"name": "bad name!", "url": "sqlite:///tmp/x"})), 400, "invalid");
    let imported = api.ok("POST", "/templates", "/templates", Some(json!({"files": template_files("basic")})));
    assert_eq!(imported["name"], "basic");
    api.fails("POST", "/templates", "/templates", Some(json!({"files": {"template.toml": "name = 1"}})), 400, "invalid");
    assert!(api.ok("GET", "/templates", "/templates", None).as_array().unwrap().len() >= 2);
    assert_eq!(api.ok("GET", "/templates/{name}", "/templates/political_party", None)["name"], "political_party");
    let snap = api.ok("GET", "/templates/{name}/snapshot", "/templates/political_party/snapshot?dialect=postgres", None);
    assert!(snap["schema"]["tables"]["members"].is_object());

    // Tenants on every engine.
    let (a, b, c) = (slug("apia"), slug("apib"), slug("apic"));
    for (s, server_name, version) in [(&a, "local", "1.0.0"), (&b, "pg", "1.0.0"), (&c, "maria", "1.2.0")] {
        let t = api.ok("POST", "/tenants", "/tenants", Some(json!({"slug": s, "template": "political_party", "version": version, "server": server_name})));
        assert_eq!(t["status"], "active");
    }
    // Bad JSON: a clear 400, and nothing created.
    let before = api.ok("GET", "/tenants", "/tenants", None)["total"].as_i64().unwrap();
    let broken = call("POST", &format!("{}/api/v1/tenants", server.base), &[("Authorization", &format!("Bearer {token}"))], Some("{\"slug\": \"x\", "), "application/json");
    assert_eq!((broken.status, broken.json()["error"]["code"].as_str()), (400, Some("invalid_json")), "{}", broken.body);
    api.fails("POST", "/tenants", "/tenants", Some(json!({"slug": slug("apix"), "template": "political_party", "surprise": 1})), 400, "invalid_json");
    api.fails("POST", "/tenants", "/tenants", Some(json!({"slug": "<script>", "template": "political_party"})), 400, "invalid");
    assert_eq!(api.ok("GET", "/tenants", "/tenants", None)["total"].as_i64().unwrap(), before);
    let page = api.ok("GET", "/tenants", &format!("/tenants?per_page=2&page=1&q={}", &a[..6]), None);
    assert_eq!((page["per_page"].as_i64(), page["page"].as_i64()), (Some(2), Some(1)));

    let t = format!("/tenants/{a}");
    assert_eq!(api.ok("GET", "/tenants/{slug}", &t, None)["slug"], a.as_str());
    assert!(api.ok("GET", "/tenants/{slug}/schema", &format!("{t}/schema"), None)["tables"]["members"].is_object());
    assert_eq!(api.ok("GET", "/tenants/{slug}/history", &format!("{t}/history"), None)[0]["migration_name"], "initial_template_application");
    api.ok("GET", "/tenants/{slug}/credentials", &format!("/tenants/{b}/credentials"), None);
    assert_eq!(api.ok("POST", "/tenants/{slug}/suspend", &format!("/tenants/{b}/suspend"), None)["status"], "suspended");
    assert_eq!(api.ok("POST", "/tenants/{slug}/resume", &format!("/tenants/{b}/resume"), None)["status"], "active");
    api.ok("POST", "/tenants/{slug}/users", &format!("{t}/users"), Some(json!({"email": "chair@party.test", "role": "admin"})));
    assert_eq!(api.ok("GET", "/tenants/{slug}/users", &format!("{t}/users"), None)[0]["email"], "chair@party.test");
    let domain = format!("{}.example.org", a);
    api.ok("POST", "/tenants/{slug}/applications", &format!("{t}/applications"), Some(json!({"domain": domain})));
    assert_eq!(api.ok("GET", "/tenants/{slug}/applications", &format!("{t}/applications"), None)[0]["domain"], domain.as_str());
    let resolved = api.ok("GET", "/resolve", &format!("/resolve?domain={domain}"), None);
    assert_eq!(resolved["slug"], a.as_str());

    // Rollouts: plan, start in the background, follow the events to the end.
    let plan = api.ok("POST", "/rollouts/plan", "/rollouts/plan", Some(json!({"template": "political_party", "tenants": [a, b]})));
    assert_eq!(plan.as_array().unwrap().len(), 2);
    let r = api.ok("POST", "/rollouts", "/rollouts", Some(json!({"template": "political_party", "tenants": [a, b], "concurrency": 2})));
    let id = r["rollout_id"].as_i64().unwrap();
    let events = api.req("GET", "/rollouts/{id}/events", &format!("/rollouts/{id}/events"), None);
    assert!(events.body.contains("event: done"), "{}", events.body);
    let done = api.ok("GET", "/rollouts/{id}", &format!("/rollouts/{id}"), None);
    assert_eq!((done["status"].as_str(), done["applied"].as_i64()), (Some("completed"), Some(2)), "{done}");
    assert_eq!(api.ok("GET", "/rollouts/{id}/steps", &format!("/rollouts/{id}/steps"), None).as_array().unwrap().len(), 4);
    assert!(api.ok("GET", "/rollouts", "/rollouts", None)["total"].as_i64().unwrap() >= 1);
    api.ok("POST", "/rollouts/{id}/resume", &format!("/rollouts/{id}/resume"), None);
    api.ok("POST", "/rollouts/{id}/retry", &format!("/rollouts/{id}/retry"), None);
    let rolled = api.ok("POST", "/tenants/{slug}/rollback", &format!("/tenants/{b}/rollback"), Some(json!({"to": "1.1.0"})));
    assert_eq!(rolled["template_version"], "1.1.0");

    // Customizations and drift.
    let cu = api.ok("POST", "/tenants/{slug}/customizations", &format!("{t}/customizations"), Some(json!({"type": "column", "name": "members.nickname", "sql": "ALTER TABLE members ADD COLUMN nickname VARCHAR(40) NULL"})));
    let cid = cu["id"].as_i64().unwrap();
    api.fails("POST", "/tenants/{slug}/customizations", &format!("{t}/customizations"), Some(json!({"type": "table", "name": "t", "sql": "DROP DATABASE x"})), 400, "invalid");
    assert_eq!(api.ok("GET", "/customizations/{id}", &format!("/customizations/{cid}"), None)["status"], "requested");
    assert_eq!(api.ok("POST", "/customizations/{id}/approve", &format!("/customizations/{cid}/approve"), None)["status"], "approved");
    assert_eq!(api.ok("POST", "/customizations/{id}/apply", &format!("/customizations/{cid}/apply"), None)["status"], "applied");
    let other = api.ok("POST", "/tenants/{slug}/customizations", &format!("{t}/customizations"), Some(json!({"type": "index", "name": "idx_nick", "sql": "CREATE INDEX idx_nick ON members (nickname)"})));
    let rejected = api.ok("POST", "/customizations/{id}/reject", &format!("/customizations/{}/reject", other["id"]), Some(json!({"reason": "not needed"})));
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(api.ok("GET", "/customizations", "/customizations?status=applied", None)["total"], 1);
    assert_eq!(api.ok("GET", "/tenants/{slug}/customizations", &format!("{t}/customizations"), None)["items"].as_array().unwrap().len(), 2);
    let scan = api.ok("POST", "/drift/scan", "/drift/scan", Some(json!({"tenants": [a, b, c]})));
    assert_eq!(scan["scanned"], 3, "{scan}");
    assert_eq!(api.ok("GET", "/tenants/{slug}/drift", &format!("{t}/drift"), None)["drift_level"], "none");
    assert_eq!(api.ok("POST", "/tenants/{slug}/drift/repair", &format!("{t}/drift/repair"), Some(json!({"dry_run": true})))["dry_run"], true);
    assert_eq!(api.ok("POST", "/tenants/{slug}/drift/accept", &format!("{t}/drift/accept"), None)["after"], "none");

    // Accounts, tokens, IDOR: a tenant user reaches its own tenant only.
    let tu = api.ok("POST", "/accounts", "/accounts", Some(json!({"email": "ops@tenant-a.test", "role": "operator", "tenant": a})));
    assert!(tu["password"].as_str().unwrap().len() >= 12);
    assert!(api.ok("GET", "/accounts", "/accounts", None)["total"].as_i64().unwrap() >= 2);
    let ro = api.ok("POST", "/tokens", "/tokens", Some(json!({"name": "read only", "scopes": "read", "expires_days": 1})));
    let reader = Client { base: &server.base, auth: bearer(ro["token"].as_str().unwrap()), seen: &seen };
    reader.ok("GET", "/tenants", "/tenants", None);
    reader.fails("POST", "/tenants/{slug}/suspend", &format!("/tenants/{c}/suspend"), None, 403, "forbidden");
    // No pool is configured here: an empty status, and a fill that builds nothing.
    assert_eq!(reader.ok("GET", "/pools", "/pools", None), json!([]));
    reader.fails("POST", "/pools/fill", "/pools/fill", None, 403, "forbidden");
    assert_eq!(api.ok("POST", "/pools/fill", "/pools/fill", None)["built"], 0);
    let tenant_token = w.run(&["--json", "user", "token", "ops@tenant-a.test", "--name", "t", "--scopes", "read,write"]).ok().json()["token"].as_str().unwrap().to_string();
    let tenant_user = Client { base: &server.base, auth: bearer(&tenant_token), seen: &seen };
    assert_eq!(tenant_user.ok("GET", "/tenants/{slug}", &t, None)["slug"], a.as_str());
    let visible = tenant_user.ok("GET", "/tenants", "/tenants", None);
    assert_eq!(visible["total"], 1, "a tenant user lists only its tenant: {visible}");
    for path in [format!("/tenants/{b}"), format!("/tenants/{b}/schema"), format!("/tenants/{b}/history"), format!("/tenants/{b}/credentials"), format!("/tenants/{b}/drift"), format!("/customizations?tenant={b}"), format!("/resolve?slug={b}")] {
        let a = tenant_user.req("GET", "-", &path, None);
        assert_eq!(a.status, 403, "IDOR: {path} gave {} {}", a.status, a.body);
    }
    tenant_user.fails("POST", "-", &format!("/tenants/{b}/customizations"), Some(json!({"type": "column", "name": "members.x", "sql": "ALTER TABLE members ADD COLUMN x INT NULL"})), 403, "forbidden");
    tenant_user.fails("GET", "-", "/servers", None, 403, "forbidden");
    tenant_user.fails("POST", "-", &format!("/customizations/{cid}/approve"), None, 403, "forbidden");
    // The tenant's own operator may request for its own tenant.
    tenant_user.ok("POST", "-", &format!("{t}/customizations"), Some(json!({"type": "index", "name": "idx_members_phone", "sql": "CREATE INDEX idx_members_phone ON members (phone)"})));

    // CSRF: a session may read, but writes need the session's token.
    let login = call("POST", &format!("{}/login", server.base), &[], Some(&format!("email=admin%40api.test&password={password}")), "application/x-www-form-urlencoded");
    assert_eq!(login.status, 303);
    let session = login.cookie.expect("session cookie");
    let me = call("GET", &format!("{}/api/v1/me", server.base), &[("Cookie", &session)], None, "").json();
    let csrf = me["csrf"].as_str().unwrap().to_string();
    let no_token = call("POST", &format!("{}/api/v1/tenants/{c}/suspend", server.base), &[("Cookie", &session)], Some("{}"), "application/json");
    assert_eq!((no_token.status, no_token.json()["error"]["code"].as_str()), (403, Some("csrf")));
    let form = call("POST", &format!("{}/tenants", server.base), &[("Cookie", &session)], Some("csrf=wrong&slug=zzz&template=basic"), "application/x-www-form-urlencoded");
    assert_eq!(form.status, 403, "{}", form.body);
    assert_eq!(api.ok("GET", "/tenants/{slug}", &format!("/tenants/{c}"), None)["status"], "active", "refused writes changed nothing");
    let with_token = call("POST", &format!("{}/api/v1/tenants/{c}/suspend", server.base), &[("Cookie", &session), ("X-CSRF-Token", &csrf)], Some("{}"), "application/json");
    assert_eq!(with_token.status, 200, "{}", with_token.body);
    // Sign-in is rate-limited.
    let mut last = 0;
    for _ in 0..6 {
        last = call("POST", &format!("{}/login", server.base), &[], Some("email=admin%40api.test&password=wrong-password"), "application/x-www-form-urlencoded").status;
    }
    assert_eq!(last, 303);
    let limited = call("POST", &format!("{}/login", server.base), &[], Some(&format!("email=admin%40api.test&password={password}")), "application/x-www-form-urlencoded");
    assert!(limited.cookie.is_none(), "a throttled sign-in gets no session");

    // Audit log: who, what, from where.
    let audit = api.ok("GET", "/audit", "/audit?per_page=500", None);
    let actions: BTreeSet<String> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    for want in ["tenant.create", "tenant.suspend", "customization.approve", "customization.reject", "rollout.start", "account.add", "session.failed"] {
        assert!(actions.contains(want), "audit lacks {want}: {actions:?}");
    }
    let entry = audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "tenant.create").unwrap();
    assert_eq!((entry["actor"].as_str(), entry["source"].as_str()), (Some("admin@api.test"), Some("127.0.0.1")));
    let metrics = call("GET", &format!("{}/metrics", server.base), &[], None, "").body;
    assert!(metrics.contains("tenantry_http_requests_total{method=\"POST\",route=\"/api/v1/tenants\",status=\"201\"}"), "{metrics}");
    assert!(metrics.contains("tenantry_provisioning_seconds_count"));

    // Deletes last.
    api.ok("DELETE", "/templates/{name}", "/templates/basic", None);
    for s in [&a, &b, &c] {
        api.ok("DELETE", "/tenants/{slug}", &format!("/tenants/{s}"), None);
    }
    // Every documented route was called.
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| ops.as_object().unwrap().keys().map(move |m| format!("{} {}", m.to_uppercase(), p.trim_start_matches("/api/v1"))))
        .collect();
    let seen = seen.borrow().clone();
    let missing: Vec<&String> = documented.difference(&seen).collect();
    assert!(missing.is_empty(), "routes without a test: {missing:?}");
}

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is not installed (apt install chromium chromium-driver; scripts/test does it)");
        let url = format!("http://127.0.0.1:{port}");
        wait_until(Duration::from_secs(10), Duration::from_millis(100), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn web_ui_in_headless_chromium() {
    use fantoccini::{ClientBuilder, Locator};
    let w = setup();
    let admin = w.run(&["--json", "user", "add", "admin@ui.test", "--role", "admin"]).ok().json();
    let password = admin["password"].as_str().unwrap().to_string();
    let (old, drifted) = (slug("uiold"), slug("uidrift"));
    w.run(&["tenant", "create", &old, "--template", "political_party", "--version", "1.0.0", "--server", "pg"]).ok();
    w.run(&["tenant", "create", &drifted, "--template", "political_party", "--server", "local"]).ok();
    let sql = w.file("c.sql");
    std::fs::write(&sql, "ALTER TABLE members ADD COLUMN nickname VARCHAR(40) NULL").unwrap();
    let cid = w.run(&["--json", "custom", "request", &drifted, "--type", "column", "--name", "members.nickname", "--sql", sql.to_str().unwrap()]).ok().json()["id"].to_string();
    let db = w.run(&["--json", "tenant", "show", &drifted]).ok().json()["database"].as_str().unwrap().to_string();
    let out = Command::new("sqlite3").arg(w.file(&format!("data/tenants/{db}.db"))).arg("ALTER TABLE roles ADD COLUMN legacy_flag INTEGER NULL").output().unwrap();
    assert!(out.status.success());
    w.run(&["drift", "scan", "--tenants", &drifted]).ok();

    let server = Server::start(&w);
    let driver = Driver::start();
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"]}));
    let b = ClientBuilder::native().capabilities(caps).connect(&driver.url).await.expect("connect to chromedriver");
    let shots = screenshots();
    let base = server.base.clone();
    let result = async {
        let shot = |name: &'static str| {
            let b = b.clone();
            let path = shots.join(format!("{name}.png"));
            async move {
                let png = b.screenshot().await.expect("screenshot");
                std::fs::write(&path, png).expect("save screenshot");
            }
        };
        // Sign in.
        b.goto(&format!("{base}/")).await?;
        assert!(b.current_url().await?.as_str().ends_with("/login"), "signed-out visitors are sent to sign in");
        shot("01-login").await;
        b.find(Locator::Css("input[name=email]")).await?.send_keys("admin@ui.test").await?;
        b.find(Locator::Css("input[name=password]")).await?.send_keys(&password).await?;
        b.find(Locator::Css("form.card button")).await?.click().await?;
        b.wait().for_element(Locator::Css("figure svg")).await?;
        let text = b.find(Locator::Css("main")).await?.text().await?;
        assert!(text.contains("Tenants by drift level") && text.contains("Servers"), "{text}");
        shot("02-dashboard").await;

        // Create a tenant from a template.
        let created = slug("uinew");
        b.goto(&format!("{base}/tenants/new")).await?;
        b.find(Locator::Css("input[name=slug]")).await?.send_keys(&created).await?;
        b.find(Locator::Css("input[name=name]")).await?.send_keys("Made in the browser").await?;
        b.find(Locator::Css("select[name=server] option[value=local]")).await?.click().await?;
        shot("03-create-tenant").await;
        b.find(Locator::Css("form.card button")).await?.click().await?;
        b.wait().for_element(Locator::Css("p.notice")).await?;
        let text = b.find(Locator::Css("main")).await?.text().await?;
        assert!(text.contains("Tenant created") && text.contains(&created), "{text}");
        assert!(b.find(Locator::Css("svg.diagram")).await.is_ok(), "the tenant page draws its tables");
        shot("04-tenant").await;

        // Start a rollout and watch it finish.
        b.goto(&format!("{base}/rollouts")).await?;
        b.find(Locator::Css("select[name=template] option[value=political_party]")).await?.click().await?;
        b.find(Locator::Css("form.card button")).await?.click().await?;
        b.wait().for_element(Locator::Css("form.card[action='/rollouts'] button")).await?;
        let plan = b.find(Locator::Css("main")).await?.text().await?;
        assert!(plan.contains(&old) && plan.contains("0002_member_notes"), "the plan lists the old tenant's steps: {plan}");
        shot("05-rollout-plan").await;
        b.find(Locator::Css("form.card[action='/rollouts'] button")).await?.click().await?;
        b.wait().for_element(Locator::Css("#rollout")).await?;
        let mut finished = false;
        for _ in 0..120 {
            let live = b.find(Locator::Id("live")).await?.text().await?;
            if live == "finished" {
                finished = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        assert!(finished, "the rollout page saw the rollout finish");
        let status = b.find(Locator::Id("r-status")).await?.text().await?;
        assert_eq!(status, "completed");
        let steps = b.find(Locator::Id("steps")).await?.text().await?;
        assert!(steps.contains("applied") && !steps.contains("pending"), "the steps table follows the rollout: {steps}");
        shot("05-rollout-finished").await;

        // Approve a customization.
        b.goto(&format!("{base}/customizations")).await?;
        shot("06-approval-queue").await;
        b.find(Locator::Css(&format!("form[action='/customizations/{cid}/approve'] button"))).await?.click().await?;
        b.wait().for_element(Locator::Css("p.notice")).await?;
        let notice = b.find(Locator::Css("p.notice")).await?.text().await?;
        assert_eq!(notice, format!("Customization {cid} is approved"));
        shot("07-approved").await;

        // Open a drift diff.
        b.goto(&format!("{base}/tenants/{drifted}")).await?;
        let diff = b.find(Locator::Css("pre.diff-view")).await?.text().await?;
        assert!(diff.contains("roles.legacy_flag") && diff.contains("+ "), "{diff}");
        let levels = b.find(Locator::Css("ul.diff")).await?.text().await?;
        assert!(levels.contains("[low] extra column roles.legacy_flag"), "{levels}");
        shot("08-drift-diff").await;

        // Other pages render for people to look at.
        for (page, name) in [("/templates/political_party", "09-template"), ("/servers", "10-servers"), ("/users", "11-users"), ("/audit", "12-audit"), ("/tenants", "13-tenants")] {
            b.goto(&format!("{base}{page}")).await?;
            b.wait().for_element(Locator::Css("main h1")).await?;
            shot(name).await;
        }
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    let _ = b.close().await;
    result.expect("browser session");
    for s in [&old, &drifted] {
        w.run(&["tenant", "delete", s, "--yes"]).ok();
    }
    let list = w.run(&["--json", "tenant", "list"]).json();
    for t in list.as_array().cloned().unwrap_or_default() {
        let _ = w.run(&["tenant", "delete", t["slug"].as_str().unwrap_or(""), "--yes"]);
    }
}

/// A copy of the basic idea of the rollouts tests' slow template: its 1.1.0 migration
/// sleeps per tenant on PostgreSQL, so a rollout is still running when we stop.
fn slow_template(w: &Workdir) -> PathBuf {
    let dir = w.file("slowweb");
    let m = dir.join("migrations/0002_add_phone");
    std::fs::create_dir_all(dir.join("modules/core")).unwrap();
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(dir.join("template.toml"), "name = \"slowweb\"\ntype = \"custom\"\nversion = \"1.1.0\"\ndialects = [\"postgres\", \"sqlite\", \"mysql\"]\n[modules.core]\ntype = \"core\"\n").unwrap();
    std::fs::write(dir.join("modules/core/schema.sql"), "CREATE TABLE people (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50) NOT NULL, phone VARCHAR(30) NULL);\n").unwrap();
    std::fs::write(m.join("migration.toml"), "version = \"1.1.0\"\nmin_template_version = \"1.0.0\"\n").unwrap();
    std::fs::write(m.join("up.sql"), "ALTER TABLE people ADD COLUMN phone VARCHAR(30) NULL;\n").unwrap();
    std::fs::write(m.join("up.postgres.sql"), "SELECT pg_sleep(0.3);\nALTER TABLE people ADD COLUMN phone VARCHAR(30) NULL;\n").unwrap();
    std::fs::write(m.join("down.sql"), "ALTER TABLE people DROP COLUMN phone;\n").unwrap();
    dir
}

#[test]
fn shutdown_leaves_a_running_rollout_resumable() {
    let w = setup();
    w.run(&["template", "import", slow_template(&w).to_str().unwrap()]).ok();
    let slugs: Vec<String> = (0..10).map(|i| slug(&format!("sd{i}"))).collect();
    for s in &slugs {
        w.run(&["tenant", "create", s, "--template", "slowweb", "--version", "1.0.0", "--server", "pg"]).ok();
    }
    w.run(&["user", "add", "ops@shutdown.test", "--role", "operator"]).ok();
    let token = w.run(&["--json", "user", "token", "ops@shutdown.test", "--name", "t", "--scopes", "read,write"]).ok().json()["token"].as_str().unwrap().to_string();
    let server = Server::start(&w);
    let seen = std::cell::RefCell::new(BTreeSet::new());
    let api = Client { base: &server.base, auth: bearer(&token), seen: &seen };
    let r = api.ok("POST", "/rollouts", "/rollouts", Some(json!({"template": "slowweb", "tenants": slugs, "concurrency": 1})));
    let id = r["rollout_id"].as_i64().unwrap();
    // Stop once some tenants are done and some are not (deadline: 30 s).
    let mut now = Value::Null;
    let going = wait_until(Duration::from_secs(30), Duration::from_millis(20), || {
        now = api.ok("GET", "/rollouts/{id}", &format!("/rollouts/{id}"), None);
        now["applied"].as_i64().unwrap_or(0) >= 2
    });
    assert!(going, "the rollout never got going: {now}");
    let started = std::time::Instant::now();
    drop(server); // SIGTERM, then wait for the process to exit
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "graceful shutdown took {:?}", started.elapsed());

    let after = w.run(&["--json", "migrate", "status", &id.to_string()]).ok().json();
    let (applied, pending, running, failed) = (after[0]["applied"].as_i64().unwrap(), after[0]["pending"].as_i64().unwrap(), after[0]["running"].as_i64().unwrap(), after[0]["failed"].as_i64().unwrap());
    assert!(applied >= 1 && pending >= 1, "stopped mid-rollout: {after}");
    assert_eq!((running, failed), (0, 0), "the tenant in flight finished; nothing failed: {after}");
    let done = w.run(&["--json", "migrate", "resume", &id.to_string()]).ok().json();
    assert_eq!((done["status"].as_str(), done["applied"].as_i64()), (Some("completed"), Some(10)), "{done}");
    for s in &slugs {
        let h = w.run(&["--json", "history", s]).ok().json();
        let n = h.as_array().unwrap().iter().filter(|x| x["migration_name"] == "0002_add_phone").count();
        assert_eq!(n, 1, "{s}: applied exactly once");
        w.run(&["tenant", "delete", s, "--yes"]).ok();
    }
}

/// `tenantry serve` fills the warm pools when it starts and refills them in the
/// background after each signup over HTTP: no CLI `pool fill` in between.
#[test]
fn serve_refills_the_warm_pool_in_the_background() {
    let w = common::fleet();
    w.run(&["template", "import", bundled("basic").to_str().unwrap()]).ok();
    let mut cfg = std::fs::read_to_string(w.file("tenantry.toml")).unwrap();
    cfg.push_str("\n[[pool]]\ntemplate = \"basic\"\nserver = \"pg\"\nsize = 1\n\n[[pool]]\ntemplate = \"basic\"\nserver = \"local\"\nsize = 1\n");
    std::fs::write(w.file("tenantry.toml"), cfg).unwrap();
    w.run(&["user", "add", "ops@pool.test", "--role", "operator"]).ok();
    let token = w.run(&["--json", "user", "token", "ops@pool.test", "--name", "t", "--scopes", "read,write"]).ok().json()["token"].as_str().unwrap().to_string();
    let server = Server::start(&w);
    let seen = std::cell::RefCell::new(BTreeSet::new());
    let api = Client { base: &server.base, auth: bearer(&token), seen: &seen };
    let all_ready = |why: &str| {
        let mut pools = Value::Null;
        let refilled = wait_until(Duration::from_secs(60), Duration::from_millis(50), || {
            pools = api.ok("GET", "/pools", "/pools", None);
            pools.as_array().unwrap().len() == 2 && pools.as_array().unwrap().iter().all(|p| p["ready"] == 1)
        });
        assert!(refilled, "{why}: the pools never refilled: {pools}");
    };
    all_ready("after start");
    let slugs = [slug("bgpg"), slug("bglocal")];
    for (s, server_name) in slugs.iter().zip(["pg", "local"]) {
        let t = api.ok("POST", "/tenants", "/tenants", Some(json!({"slug": s, "template": "basic", "server": server_name})));
        assert_eq!(t["status"], "active");
        let h = api.ok("GET", "/tenants/{slug}/history", &format!("/tenants/{s}/history"), None);
        assert!(h[0]["notes"].as_str().unwrap().ends_with("(pooled)"), "{server_name}: {h}");
        all_ready(&format!("after the signup of {s}"));
    }
    drop(server);
    for s in &slugs {
        w.run(&["tenant", "delete", s, "--yes"]).ok();
    }
    // Leave no pooled databases on the shared server.
    let cfg = std::fs::read_to_string(w.file("tenantry.toml")).unwrap().replace("size = 1", "size = 0");
    std::fs::write(w.file("tenantry.toml"), cfg).unwrap();
    let drained = w.run(&["--json", "pool", "fill"]).ok().json();
    assert!(drained["dropped"].as_u64().unwrap() >= 2, "{drained}");
}

#[test]
fn serve_demo_on_a_bare_directory_shows_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tenantry"));
    cmd.current_dir(dir.path()).args(["serve", "--demo", "--bind", "127.0.0.1:0"]).stdout(Stdio::null()).stderr(Stdio::piped());
    for k in ["TENANTRY_LANDLORD_URL", "TENANTRY_CONFIG", "TENANTRY_MASTER_KEY", "TENANTRY_DATA_DIR"] {
        cmd.env_remove(k);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut base, mut password) = (String::new(), String::new());
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("serving on ").nth(1) {
            base = rest.split_whitespace().next().unwrap().trim_end_matches('/').to_string();
        }
        if let Some(rest) = line.split("one-time password ").nth(1) {
            password = rest.trim().to_string();
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let server = Server { child, base };
    assert!(!password.is_empty() && dir.path().join("tenantry.toml").exists() && dir.path().join("data").is_dir());
    let login = call("POST", &format!("{}/login", server.base), &[], Some(&format!("email=admin%40demo.tenantry.dev&password={password}")), "application/x-www-form-urlencoded");
    let cookie = login.cookie.expect("signed in");
    let dashboard = call("GET", &format!("{}/", server.base), &[("Cookie", &cookie)], None, "");
    assert_eq!(dashboard.status, 200);
    assert!(dashboard.body.contains("Tenants by drift level"));
    let tenants = call("GET", &format!("{}/tenants", server.base), &[("Cookie", &cookie)], None, "").body;
    for t in ["green-party", "river-trust", "acme-corp", "corner-shop"] {
        assert!(tenants.contains(t), "demo tenant {t} listed");
    }
    let drifted = call("GET", &format!("{}/api/v1/tenants?drift=low", server.base), &[("Cookie", &cookie)], None, "").json();
    assert_eq!(drifted["items"][0]["slug"], "acme-corp", "one demo tenant drifts: {drifted}");
    let queue = call("GET", &format!("{}/api/v1/customizations?status=requested", server.base), &[("Cookie", &cookie)], None, "").json();
    assert_eq!(queue["total"], 1, "one customization waits for approval: {queue}");
}

#[test]
fn demo_seeds_once_and_again_without_duplicates() {
    let w = Workdir::new();
    let first = w.run(&["--json", "demo"]).ok().json();
    assert_eq!(first["tenants"].as_array().unwrap().len(), 4, "{first}");
    assert!(w.file("tenantry.toml").exists(), "the embedded default was initialised");
    let again = w.run(&["--json", "demo"]).ok().json();
    assert_eq!(again["tenants"], first["tenants"]);
    assert_ne!(again["password"], first["password"], "a second run issues a new one-time password");
    let tenants = w.run(&["--json", "tenant", "list"]).ok().json();
    assert_eq!(tenants.as_array().unwrap().len(), 4, "no duplicate tenants");
    let customs = w.run(&["--json", "custom", "list"]).ok().json();
    assert_eq!(customs.as_array().unwrap().len(), 2, "one applied, one requested, not doubled: {customs}");
}
