//! The stores' counters, read from [`KvStore::stats`] at each scrape: operations by
//! store and kind, backend errors by store and backend, read-cache hits and misses.

use kv_runtime::{KvStore, StoreStats};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeMetric as _, MetricEncoder,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;

/// Renders the stores' stats; registered once per server.
#[derive(Debug)]
pub(super) struct StoreCollector {
    stores: Vec<KvStore>,
}

impl StoreCollector {
    pub(super) fn new(stores: Vec<KvStore>) -> Self {
        Self { stores }
    }

    /// One counter family, one sample per store (and per label the closure adds).
    fn family<F>(
        &self,
        encoder: &mut DescriptorEncoder<'_>,
        stats: &[(&KvStore, StoreStats)],
        name: &str,
        help: &str,
        mut samples: F,
    ) -> Result<(), std::fmt::Error>
    where
        F: FnMut(&KvStore, &StoreStats, &mut MetricEncoder<'_>) -> Result<(), std::fmt::Error>,
    {
        let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
        for (store, stats) in stats {
            samples(store, stats, &mut family)?;
        }
        Ok(())
    }
}

fn sample<S: EncodeLabelSet>(
    family: &mut MetricEncoder<'_>,
    labels: &S,
    value: u64,
) -> Result<(), std::fmt::Error> {
    ConstCounter::new(value).encode(family.encode_family(labels)?)
}

impl Collector for StoreCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let stats: Vec<_> = self.stores.iter().map(|s| (s, s.stats())).collect();
        self.family(
            &mut encoder,
            &stats,
            "store_operations",
            "Store operations served, by store and kind (a cached read counts as a get)",
            |store, stats, family| {
                for (operation, count) in stats.operations() {
                    let labels = [("store", store.name()), ("operation", operation.as_str())];
                    sample(family, &labels, count)?;
                }
                Ok(())
            },
        )?;
        self.family(
            &mut encoder,
            &stats,
            "backend_errors",
            "Store operations that failed in the backend, by store and backend",
            |store, stats, family| {
                let labels = [("store", store.name()), ("backend", store.backend_name())];
                sample(family, &labels, stats.backend_errors)
            },
        )?;
        self.family(
            &mut encoder,
            &stats,
            "read_cache_hits",
            "Reads with a cache TTL served from the read cache, by store",
            |store, stats, family| sample(family, &[("store", store.name())], stats.cache_hits),
        )?;
        self.family(
            &mut encoder,
            &stats,
            "read_cache_misses",
            "Reads with a cache TTL that went to the backend, by store",
            |store, stats, family| sample(family, &[("store", store.name())], stats.cache_misses),
        )
    }
}
