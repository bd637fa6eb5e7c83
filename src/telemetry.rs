//! Observability: structured logs, OpenTelemetry trace export (OTLP/gRPC,
//! when an endpoint is configured), and the Prometheus metrics registry.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Telemetry holds what must be flushed at shutdown.
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    pub fn shutdown(self) {
        if let Some(provider) = self.tracer_provider
            && let Err(err) = provider.shutdown()
        {
            eprintln!("opentelemetry shutdown failed: {err}");
        }
    }
}

/// init installs the global subscriber: logs to stderr (JSON, or text for
/// a person: `text`, or `auto` while stderr is a terminal)
/// filtered by `RUST_LOG` (default `info`, sqlx at `warn` because it logs
/// every statement at INFO), and spans to OTLP when `otlp_endpoint` is set.
/// The log filter applies to the log layer only, so it never hides spans
/// from the OpenTelemetry layer.
pub fn init(log_format: &str, otlp_endpoint: Option<&str>) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,h2=warn,hyper=warn"));
    let text = match log_format {
        "text" => true,
        "auto" => std::io::IsTerminal::is_terminal(&std::io::stderr()),
        _ => false,
    };
    let logs = match text {
        true => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
        false => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    let (otel, tracer_provider) = match otlp_endpoint {
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .with_timeout(Duration::from_secs(5))
                .build()?;
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(Resource::builder().with_service_name("tezgram").build())
                .build();
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("tezgram"))
                .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
            (Some(layer), Some(provider))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(otel)
        .try_init()?;
    Ok(Telemetry { tracer_provider })
}

/// Metrics are the Prometheus metrics of one gateway instance, in a registry
/// of its own (so several instances can live in one test process).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    rpc_requests: IntCounterVec,
    rpc_duration: HistogramVec,
    pub database_up: IntGauge,
    /// Accounts whose Telegram connection is up and drained right now.
    pub connected_accounts: IntGauge,
    /// Updates received from Telegram by kind (`new_message`, …).
    pub telegram_updates: IntCounterVec,
    /// Restarts of account connections after a failure.
    pub account_restarts: prometheus::IntCounter,
    /// Update gaps Telegram would not fill ("difference too long") that
    /// were filled from history instead.
    pub update_gaps: prometheus::IntCounter,
    /// Outbox rows waiting to be sent (all accounts), as of the last poll.
    pub outbox_pending: IntGauge,
    /// Outbox send attempts by outcome (`sent`, `failed`, `flood_wait`,
    /// `retry`).
    pub outbox_sends: IntCounterVec,
    /// Open Subscribe streams in this process.
    pub stream_subscribers: IntGauge,
    /// Times a stream fell behind its feed and read the log itself.
    pub stream_catch_ups: prometheus::IntCounter,
    /// Audit entries whose write failed even after its retries.
    pub audit_entries_lost: prometheus::IntCounter,
    /// Accounts whose lease this instance holds.
    pub owned_accounts: IntGauge,
    /// Account leases this instance took.
    pub lease_acquisitions: prometheus::IntCounter,
    /// Account leases this instance renewed (one per lease per round).
    pub lease_renewals: prometheus::IntCounter,
    /// Account leases this instance lost (taken by another, or not
    /// renewable in time).
    pub lease_losses: prometheus::IntCounter,
    /// Calls this instance forwarded to the instance owning their account.
    pub forwarded_calls: prometheus::IntCounter,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("tezgram".to_owned()), None)
            .expect("a static prefix is a valid registry prefix");
        let rpc_requests = IntCounterVec::new(
            Opts::new(
                "rpc_requests_total",
                "gRPC requests by method and status code",
            ),
            &["method", "code"],
        )
        .expect("valid metric definition");
        let rpc_duration = HistogramVec::new(
            HistogramOpts::new("rpc_duration_seconds", "gRPC request latency by method").buckets(
                vec![
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ],
            ),
            &["method"],
        )
        .expect("valid metric definition");
        let database_up = IntGauge::new("database_up", "1 while the database answers")
            .expect("valid metric definition");
        let connected_accounts = IntGauge::new(
            "connected_accounts",
            "accounts whose telegram connection is up and drained",
        )
        .expect("valid metric definition");
        let telegram_updates = IntCounterVec::new(
            Opts::new(
                "telegram_updates_total",
                "updates received from telegram by kind",
            ),
            &["kind"],
        )
        .expect("valid metric definition");
        let account_restarts = prometheus::IntCounter::new(
            "account_restarts_total",
            "account connections restarted after a failure",
        )
        .expect("valid metric definition");
        let update_gaps = prometheus::IntCounter::new(
            "update_gaps_total",
            "update gaps telegram would not fill (difference too long), filled from history",
        )
        .expect("valid metric definition");
        let outbox_pending = IntGauge::new(
            "outbox_pending",
            "outbox rows waiting to be sent, as of the dispatcher's last poll",
        )
        .expect("valid metric definition");
        let outbox_sends = IntCounterVec::new(
            Opts::new("outbox_sends_total", "outbox send attempts by outcome"),
            &["outcome"],
        )
        .expect("valid metric definition");
        let stream_subscribers = IntGauge::new(
            "stream_subscribers",
            "open Subscribe streams in this process",
        )
        .expect("valid metric definition");
        let stream_catch_ups = prometheus::IntCounter::new(
            "stream_catch_ups_total",
            "times a Subscribe stream fell behind its feed and read the event log itself",
        )
        .expect("valid metric definition");
        let audit_entries_lost = prometheus::IntCounter::new(
            "audit_entries_lost_total",
            "audit entries that could not be written, even after retrying",
        )
        .expect("valid metric definition");
        let owned_accounts =
            IntGauge::new("owned_accounts", "accounts whose lease this instance holds")
                .expect("valid metric definition");
        let lease_acquisitions = prometheus::IntCounter::new(
            "lease_acquisitions_total",
            "account leases this instance took",
        )
        .expect("valid metric definition");
        let lease_renewals = prometheus::IntCounter::new(
            "lease_renewals_total",
            "account leases this instance renewed, one per lease per round",
        )
        .expect("valid metric definition");
        let lease_losses = prometheus::IntCounter::new(
            "lease_losses_total",
            "account leases this instance lost: taken by another, or not renewable in time",
        )
        .expect("valid metric definition");
        let forwarded_calls = prometheus::IntCounter::new(
            "forwarded_calls_total",
            "calls forwarded to the instance that owns their account",
        )
        .expect("valid metric definition");
        for collector in [
            Box::new(rpc_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(rpc_duration.clone()),
            Box::new(database_up.clone()),
            Box::new(connected_accounts.clone()),
            Box::new(telegram_updates.clone()),
            Box::new(account_restarts.clone()),
            Box::new(update_gaps.clone()),
            Box::new(outbox_pending.clone()),
            Box::new(outbox_sends.clone()),
            Box::new(stream_subscribers.clone()),
            Box::new(stream_catch_ups.clone()),
            Box::new(audit_entries_lost.clone()),
            Box::new(owned_accounts.clone()),
            Box::new(lease_acquisitions.clone()),
            Box::new(lease_renewals.clone()),
            Box::new(lease_losses.clone()),
            Box::new(forwarded_calls.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique in a fresh registry");
        }
        Self {
            registry,
            rpc_requests,
            rpc_duration,
            database_up,
            connected_accounts,
            telegram_updates,
            account_restarts,
            update_gaps,
            outbox_pending,
            outbox_sends,
            stream_subscribers,
            stream_catch_ups,
            audit_entries_lost,
            owned_accounts,
            lease_acquisitions,
            lease_renewals,
            lease_losses,
            forwarded_calls,
        }
    }

    pub fn observe_rpc(&self, method: &str, code: tonic::Code, elapsed: Duration) {
        self.rpc_requests
            .with_label_values(&[method, code_name(code)])
            .inc();
        self.rpc_duration
            .with_label_values(&[method])
            .observe(elapsed.as_secs_f64());
    }

    /// render is the text exposition format served at `/metrics`.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("encoding gathered metrics to a vec cannot fail");
        String::from_utf8(buffer).expect("the text format is utf-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}
