//! The declarations of the nine canonical datasets (the contract of the canonical CSV/JSON
//! format). Column names here are public API: renaming one is a breaking change.

use super::{Column, ColumnType as T, Dataset, DatasetKind, Layout};

const SEVERITIES: &[&str] = &["sev1", "sev2", "sev3", "sev4", "sev5"];

const fn req(name: &'static str, ty: T, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        required: true,
        doc,
    }
}

const fn opt(name: &'static str, ty: T, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        required: false,
        doc,
    }
}

const UPDATED_AT: Column = opt(
    "updated_at",
    T::Timestamp,
    "when the source last changed the record; the newest wins on upsert",
);
const SOURCE: Column = opt(
    "source",
    T::Text,
    "the tool the record came from (servicenow, pagerduty, ...)",
);
const MONEY: T = T::Float { min: 0.0 };

pub static ALL: [Dataset; 9] = [
    Dataset {
        kind: DatasetKind::Customers,
        doc: "Paying customers (accounts).",
        key: &["customer_id"],
        layout: Layout::Single,
        orderings: &[],
        columns: &[
            req("customer_id", T::Text, "stable customer identifier"),
            req("name", T::Text, "display name"),
            opt(
                "segment",
                T::Enum(&["enterprise", "mid_market", "smb"]),
                "commercial segment",
            ),
            opt("region", T::Text, "sales region"),
            req("arr", MONEY, "annual recurring revenue, reporting currency"),
            opt("since", T::Date, "customer since"),
            opt("owner", T::Text, "account owner"),
            UPDATED_AT,
        ],
    },
    Dataset {
        kind: DatasetKind::Assets,
        doc: "Services and components (the CMDB): what can break.",
        key: &["asset_id"],
        layout: Layout::Single,
        orderings: &[],
        columns: &[
            req("asset_id", T::Text, "stable asset identifier"),
            req("name", T::Text, "display name"),
            opt(
                "kind",
                T::Enum(&[
                    "service",
                    "database",
                    "network",
                    "infrastructure",
                    "third_party",
                    "other",
                ]),
                "what sort of component it is",
            ),
            opt(
                "tier",
                T::Int { min: 1, max: 4 },
                "criticality, 1 = most critical .. 4",
            ),
            opt("owner_team", T::Text, "team that owns it"),
            opt("depends_on", T::List, "asset_ids this asset needs to work"),
            opt(
                "monthly_cost",
                MONEY,
                "monthly run cost, reporting currency",
            ),
            UPDATED_AT,
        ],
    },
    Dataset {
        kind: DatasetKind::CustomerAssets,
        doc: "Which customers use which assets (services they are subscribed to).",
        key: &["customer_id", "asset_id"],
        layout: Layout::Single,
        orderings: &[],
        columns: &[
            req("customer_id", T::Text, "the customer"),
            req("asset_id", T::Text, "an asset the customer uses directly"),
        ],
    },
    Dataset {
        kind: DatasetKind::Incidents,
        doc: "Incidents from any incident tool; times are impact times, not ticket times.",
        key: &["incident_id"],
        layout: Layout::MonthlyBy("started_at"),
        orderings: &[
            &["started_at", "mitigated_at", "resolved_at"],
            &["detected_at", "acknowledged_at"],
        ],
        columns: &[
            req("incident_id", T::Text, "stable incident identifier"),
            opt("title", T::Text, "short description"),
            req("severity", T::Enum(SEVERITIES), "sev1 (worst) .. sev5"),
            opt(
                "status",
                T::Enum(&["open", "resolved", "closed"]),
                "lifecycle state",
            ),
            opt("asset_id", T::Text, "primary component"),
            opt(
                "impact",
                T::Enum(&["outage", "partial", "degraded", "none"]),
                "effect on customers",
            ),
            opt(
                "customer_ids",
                T::List,
                "customers affected; empty = everyone using the asset or anything depending on it",
            ),
            req("started_at", T::Timestamp, "impact start"),
            opt("detected_at", T::Timestamp, "first alert or report"),
            opt(
                "acknowledged_at",
                T::Timestamp,
                "first human acknowledgement",
            ),
            opt(
                "first_customer_notice_at",
                T::Timestamp,
                "first communication to customers",
            ),
            opt("mitigated_at", T::Timestamp, "customer impact ended"),
            opt("resolved_at", T::Timestamp, "incident resolved"),
            opt("root_cause", T::Text, "root cause category"),
            opt(
                "caused_by_change_id",
                T::Text,
                "the change that caused it, if any",
            ),
            SOURCE,
            UPDATED_AT,
        ],
    },
    Dataset {
        kind: DatasetKind::Changes,
        doc: "Changes and deployments to assets.",
        key: &["change_id"],
        layout: Layout::MonthlyBy("started_at"),
        orderings: &[
            &["scheduled_start", "scheduled_end"],
            &["started_at", "finished_at"],
        ],
        columns: &[
            req("change_id", T::Text, "stable change identifier"),
            req("asset_id", T::Text, "the asset changed"),
            opt(
                "kind",
                T::Enum(&["standard", "normal", "emergency"]),
                "ITIL change type",
            ),
            opt("summary", T::Text, "short description"),
            opt("scheduled_start", T::Timestamp, "planned start"),
            opt("scheduled_end", T::Timestamp, "planned end"),
            req("started_at", T::Timestamp, "actual start"),
            opt("finished_at", T::Timestamp, "actual end"),
            req(
                "outcome",
                T::Enum(&[
                    "succeeded",
                    "failed",
                    "rolled_back",
                    "cancelled",
                    "in_progress",
                ]),
                "result of the change",
            ),
            opt("risk", T::Enum(&["low", "medium", "high"]), "assessed risk"),
            SOURCE,
            UPDATED_AT,
        ],
    },
    Dataset {
        kind: DatasetKind::Maintenance,
        doc: "Planned maintenance windows; downtime inside them is excluded from availability by default.",
        key: &["window_id"],
        layout: Layout::MonthlyBy("starts_at"),
        orderings: &[&["starts_at", "ends_at"]],
        columns: &[
            req("window_id", T::Text, "stable window identifier"),
            req("asset_id", T::Text, "asset under maintenance"),
            req("starts_at", T::Timestamp, "window start"),
            req("ends_at", T::Timestamp, "window end"),
            opt("announced_at", T::Timestamp, "when customers were told"),
        ],
    },
    Dataset {
        kind: DatasetKind::Slas,
        doc: "Contractual service levels per customer, with credit tiers.",
        key: &["sla_id"],
        layout: Layout::Single,
        orderings: &[&["valid_from", "valid_to"]],
        columns: &[
            req("sla_id", T::Text, "stable SLA identifier"),
            req("customer_id", T::Text, "the customer"),
            opt("asset_id", T::Text, "empty = every asset the customer uses"),
            req(
                "metric",
                T::Enum(&["availability", "time_to_acknowledge", "time_to_resolve"]),
                "what is promised",
            ),
            req(
                "target",
                T::Float { min: 0.0 },
                "percent for availability (0-100), minutes for the time metrics",
            ),
            req(
                "period",
                T::Enum(&["month", "quarter"]),
                "measurement period",
            ),
            opt(
                "severities",
                T::List,
                "severities in scope for the time metrics (empty = all)",
            ),
            opt(
                "credit_tiers",
                T::CreditTiers,
                "`99.9:10;99.0:25` = below 99.9 % → 10 % of the period's fee, below 99.0 % → 25 %",
            ),
            opt("valid_from", T::Date, "first day in force"),
            opt("valid_to", T::Date, "last day in force"),
        ],
    },
    Dataset {
        kind: DatasetKind::Churn,
        doc: "Lost revenue events: full cancellations and downgrades.",
        key: &["customer_id", "churned_at"],
        layout: Layout::Single,
        orderings: &[],
        columns: &[
            req("customer_id", T::Text, "the customer"),
            req("churned_at", T::Date, "effective date"),
            opt(
                "kind",
                T::Enum(&["full", "downgrade"]),
                "full cancellation or downgrade",
            ),
            req("mrr_lost", MONEY, "monthly recurring revenue lost"),
            opt(
                "reason",
                T::Enum(&[
                    "price",
                    "product",
                    "competitor",
                    "reliability",
                    "support",
                    "business_closed",
                    "other",
                ]),
                "main stated reason",
            ),
            opt("reason_detail", T::Text, "free text"),
            opt(
                "voluntary",
                T::Bool,
                "false for involuntary churn (failed payment)",
            ),
        ],
    },
    Dataset {
        kind: DatasetKind::Revenue,
        doc: "Monthly recurring revenue per customer and month.",
        key: &["customer_id", "month"],
        layout: Layout::Single,
        orderings: &[],
        columns: &[
            req("customer_id", T::Text, "the customer"),
            req("month", T::Month, "first day of the month"),
            req("mrr", MONEY, "monthly recurring revenue that month"),
        ],
    },
];
