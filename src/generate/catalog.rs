//! The fixed cast of the sample world: ~40 assets with their dependency graph, costs and how
//! often they break or change, and the word lists names are drawn from. Data only.

/// One asset of the sample world.
pub struct AssetDef {
    pub id: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub tier: u8,
    pub team: &'static str,
    pub depends_on: &'static [&'static str],
    pub monthly_cost: f64,
    /// Expected incidents per month at scale 1.
    pub incident_rate: f64,
    /// Expected changes per month at scale 1.
    pub change_rate: f64,
    /// Probability that a change fails or is rolled back.
    pub change_fail: f64,
    /// Probability that a customer of the given segment uses it directly
    /// (enterprise, mid_market, smb); 0 for internal components.
    pub adoption: [f64; 3],
}

const fn a(
    id: &'static str,
    name: &'static str,
    kind: &'static str,
    tier: u8,
    team: &'static str,
    depends_on: &'static [&'static str],
    monthly_cost: f64,
    incident_rate: f64,
    change_rate: f64,
    change_fail: f64,
    adoption: [f64; 3],
) -> AssetDef {
    AssetDef { id, name, kind, tier, team, depends_on, monthly_cost, incident_rate, change_rate, change_fail, adoption }
}

const NONE: [f64; 3] = [0.0, 0.0, 0.0];
const ALL: [f64; 3] = [1.0, 1.0, 1.0];

/// The two components the story makes chronically troublesome (tests check the story holds).
#[cfg(test)]
pub const TROUBLESOME: [&str; 2] = ["es-search", "integrations"];

pub static ASSETS: &[AssetDef] = &[
    a("net-core", "Core network", "network", 1, "netops", &[], 18000.0, 0.4, 2.0, 0.03, NONE),
    a("net-edge", "Edge load balancers", "network", 1, "netops", &["net-core"], 9000.0, 0.5, 3.0, 0.04, NONE),
    a("dns", "DNS", "network", 1, "netops", &[], 1200.0, 0.15, 1.0, 0.02, NONE),
    a("cdn", "CDN", "third_party", 2, "platform", &["dns"], 6000.0, 0.3, 0.5, 0.02, NONE),
    a("k8s-prod-a", "Kubernetes cluster A", "infrastructure", 1, "platform", &["net-core"], 42000.0, 0.8, 8.0, 0.04, NONE),
    a("k8s-prod-b", "Kubernetes cluster B", "infrastructure", 1, "platform", &["net-core"], 38000.0, 0.8, 8.0, 0.04, NONE),
    a("vault", "Secrets vault", "infrastructure", 1, "security", &["k8s-prod-a"], 3000.0, 0.15, 1.0, 0.03, NONE),
    a("obs", "Observability stack", "infrastructure", 3, "sre", &["k8s-prod-b"], 15000.0, 0.8, 4.0, 0.05, NONE),
    a("pg-main", "Postgres primary cluster", "database", 1, "data", &["net-core"], 26000.0, 0.7, 2.0, 0.05, NONE),
    a("pg-billing", "Billing database", "database", 1, "data", &["net-core"], 8000.0, 0.3, 1.0, 0.04, NONE),
    a("redis-cache", "Redis cache", "database", 2, "platform", &["k8s-prod-a"], 5000.0, 0.6, 2.0, 0.03, NONE),
    a("es-search", "Search cluster (Elasticsearch)", "database", 2, "search", &["k8s-prod-b"], 21000.0, 3.6, 3.0, 0.14, NONE),
    a("kafka", "Event bus (Kafka)", "database", 1, "data", &["k8s-prod-b", "net-core"], 17000.0, 0.8, 2.0, 0.05, NONE),
    a("s3-storage", "Object storage", "third_party", 1, "platform", &[], 9000.0, 0.15, 0.0, 0.0, NONE),
    a("warehouse", "Analytics warehouse", "database", 3, "data", &["net-core"], 30000.0, 0.6, 2.0, 0.04, NONE),
    a("auth", "Identity and login", "service", 1, "identity", &["pg-main", "redis-cache", "vault", "k8s-prod-a"], 4000.0, 0.8, 10.0, 0.04, NONE),
    a("api-gw", "Public API gateway", "service", 1, "platform", &["net-edge", "auth", "k8s-prod-a"], 6000.0, 0.8, 12.0, 0.04, ALL),
    a("web-app", "Web application", "service", 1, "frontend", &["cdn", "api-gw"], 3000.0, 0.8, 20.0, 0.03, ALL),
    a("mobile-api", "Mobile backend", "service", 2, "mobile", &["api-gw"], 2500.0, 0.6, 8.0, 0.04, [0.7, 0.5, 0.3]),
    a("accounts", "Accounts service", "service", 1, "core", &["pg-main", "auth"], 3500.0, 0.6, 6.0, 0.04, NONE),
    a("payments-psp", "Payment provider", "third_party", 1, "payments", &[], 0.0, 0.4, 0.0, 0.0, NONE),
    a("billing", "Billing service", "service", 1, "payments", &["pg-billing", "payments-psp", "kafka", "accounts"], 4500.0, 0.8, 5.0, 0.05, ALL),
    a("invoicing", "Invoicing", "service", 2, "payments", &["billing", "s3-storage"], 2000.0, 0.4, 3.0, 0.04, [0.9, 0.6, 0.2]),
    a("search", "Search service", "service", 2, "search", &["es-search", "api-gw"], 3000.0, 1.2, 6.0, 0.08, [0.9, 0.7, 0.5]),
    a("email-provider", "Email delivery provider", "third_party", 2, "messaging", &[], 1500.0, 0.5, 0.0, 0.0, NONE),
    a("sms-provider", "SMS provider", "third_party", 3, "messaging", &[], 800.0, 0.4, 0.0, 0.0, NONE),
    a("notifications", "Notifications", "service", 2, "messaging", &["kafka", "email-provider", "sms-provider"], 2000.0, 0.8, 6.0, 0.04, [0.9, 0.7, 0.6]),
    a("reporting", "Reporting and dashboards", "service", 2, "analytics", &["warehouse", "api-gw"], 3500.0, 0.8, 6.0, 0.05, [0.95, 0.6, 0.3]),
    a("exports", "Data exports", "service", 3, "analytics", &["warehouse", "s3-storage"], 1200.0, 0.5, 3.0, 0.04, [0.6, 0.3, 0.1]),
    a("integrations", "Integrations hub", "service", 2, "integrations", &["kafka", "api-gw"], 4000.0, 2.7, 10.0, 0.11, [0.9, 0.6, 0.3]),
    a("webhooks", "Webhooks delivery", "service", 2, "integrations", &["integrations", "kafka"], 1500.0, 0.8, 4.0, 0.05, [0.7, 0.4, 0.2]),
    a("scheduler", "Job scheduler", "service", 2, "core", &["pg-main", "k8s-prod-b"], 1500.0, 0.6, 3.0, 0.04, NONE),
    a("file-upload", "File uploads", "service", 2, "core", &["s3-storage", "api-gw"], 1200.0, 0.4, 3.0, 0.03, [0.8, 0.6, 0.5]),
    a("audit-log", "Audit log", "service", 3, "security", &["kafka", "warehouse"], 1000.0, 0.3, 2.0, 0.03, [0.8, 0.2, 0.0]),
    a("admin-console", "Admin console", "service", 3, "frontend", &["api-gw"], 800.0, 0.3, 4.0, 0.03, [1.0, 0.8, 0.5]),
    a("sso-saml", "Enterprise SSO (SAML)", "service", 1, "identity", &["auth"], 1500.0, 0.5, 3.0, 0.05, [0.95, 0.3, 0.0]),
    a("gpu-pool", "GPU inference pool", "infrastructure", 3, "ml", &["net-core"], 48000.0, 0.8, 2.0, 0.05, NONE),
    a("ai-assist", "AI assistant", "service", 3, "ml", &["api-gw", "gpu-pool"], 12000.0, 1.0, 8.0, 0.08, [0.4, 0.2, 0.1]),
    a("status-page", "Status page", "third_party", 4, "sre", &[], 300.0, 0.05, 0.2, 0.0, NONE),
    a("ci-cd", "CI/CD pipeline", "infrastructure", 4, "devex", &["k8s-prod-b"], 7000.0, 0.8, 5.0, 0.04, NONE),
];

/// Databases and networks get maintenance windows: (asset, every N months).
pub const MAINTAINED: &[(&str, u32)] =
    &[("pg-main", 1), ("pg-billing", 1), ("es-search", 1), ("kafka", 2), ("net-core", 3), ("warehouse", 2)];

pub const NAME_A: &[&str] = &[
    "Northwind", "Bluewater", "Summit", "Ironbridge", "Cedar", "Harbor", "Silverline", "Redwood", "Keystone",
    "Brightpath", "Granite", "Lumen", "Evergreen", "Copperfield", "Falcon", "Meridian", "Orchard", "Pioneer",
    "Quarry", "Riverstone", "Sable", "Tidewater", "Upland", "Vantage", "Willow", "Yardley", "Zephyr", "Atlas",
    "Beacon", "Crescent",
];
pub const NAME_B: &[&str] = &[
    "Logistics", "Health", "Retail", "Capital", "Foods", "Energy", "Media", "Labs", "Insurance", "Travel",
    "Manufacturing", "Realty", "Learning", "Telecom", "Pharma", "Games", "Analytics", "Bank", "Motors", "Legal",
];
pub const NAME_C: &[&str] = &["Inc", "Group", "GmbH", "Ltd", "Co", "SA", "AB", "Partners", "Holdings", "BV"];
pub const REGIONS: &[&str] = &["NA", "EMEA", "APAC", "LATAM"];
pub const OWNERS: &[&str] = &[
    "a.morgan", "b.chen", "c.okafor", "d.silva", "e.novak", "f.haddad", "g.tanaka", "h.berg", "i.rossi", "j.walsh",
];
pub const SYMPTOMS: &[&str] = &[
    "elevated error rates", "increased latency", "requests timing out", "partial unavailability",
    "degraded performance", "failed deployments", "connection pool exhaustion", "disk pressure",
    "certificate expiry", "replication lag", "memory leak", "queue backlog",
];
pub const ROOT_CAUSES: &[(&str, f64)] = &[
    ("software_bug", 0.28),
    ("capacity", 0.18),
    ("configuration", 0.16),
    ("dependency", 0.12),
    ("third_party", 0.10),
    ("hardware", 0.06),
    ("unknown", 0.10),
];
pub const CHURN_REASONS: &[(&str, f64)] = &[
    ("price", 0.30),
    ("product", 0.22),
    ("competitor", 0.20),
    ("support", 0.10),
    ("business_closed", 0.10),
    ("other", 0.08),
];
pub const CHANGE_SUMMARIES: &[&str] = &[
    "deploy release", "config change", "dependency upgrade", "schema migration", "scale out", "feature flag rollout",
    "certificate rotation", "kernel patch", "index rebuild", "rollback of previous release",
];
