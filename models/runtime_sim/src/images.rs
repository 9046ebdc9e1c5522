//! Container images as layers, and one node's image cache.
//!
//! The scenario declares each image's layers (digest and size); images that share a base share
//! its layers, so pulling `web:v2` after `web:v1` costs only the layers that changed. Pulls on a
//! node are serialized (kubelet default `serializeImagePulls: true`) and take
//! `uncached bytes / bandwidth`.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{SimDuration, SimTime};

/// Every image the registry has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageCatalog {
    layer_ids: BTreeMap<String, u32>,
    layer_sizes: Vec<u64>,
    images: BTreeMap<String, Vec<u32>>,
    /// Images not listed exist, with no layers (pull instantly): scenarios only list the images
    /// whose pull time matters.
    open: bool,
    /// Images that do not exist even in an open registry (`ErrImagePull` on cue).
    missing: BTreeSet<String>,
}

impl ImageCatalog {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `image` with its layers `(digest, size in bytes)`; a digest seen before is the
    /// same layer (its first size wins).
    pub fn add_image(&mut self, image: &str, layers: &[(&str, u64)]) -> &mut Self {
        let ids = layers
            .iter()
            .map(|(digest, size)| {
                *self.layer_ids.entry((*digest).to_string()).or_insert_with(|| {
                    self.layer_sizes.push(*size);
                    (self.layer_sizes.len() - 1) as u32
                })
            })
            .collect();
        self.images.insert(image.to_string(), ids);
        self
    }

    /// A registry where every image not listed exists with no layers (pulls take no time),
    /// except those marked [`missing`](Self::add_missing).
    pub fn open() -> Self {
        ImageCatalog { open: true, ..Self::default() }
    }

    /// Marks `image` as absent from the registry.
    pub fn add_missing(&mut self, image: &str) -> &mut Self {
        // Its layers stay recorded, for when it comes back.
        self.missing.insert(image.to_string());
        self
    }

    /// Puts a [`missing`](Self::add_missing) image back (an unlisted one in an open registry).
    pub fn remove_missing(&mut self, image: &str) -> &mut Self {
        self.missing.remove(image);
        self
    }

    /// The layers of `image`, if the registry has it.
    pub fn layers(&self, image: &str) -> Option<&[u32]> {
        if self.missing.contains(image) {
            return None;
        }
        match self.images.get(image) {
            Some(layers) => Some(layers.as_slice()),
            None if self.open => Some(&[]),
            None => None,
        }
    }

    /// Size of a layer.
    pub fn layer_size(&self, layer: u32) -> u64 {
        self.layer_sizes.get(layer as usize).copied().unwrap_or(0)
    }
}

/// One node's image store and its (serialized) puller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageCache {
    /// Image → instant its pull completes (present from then on).
    images: BTreeMap<String, SimTime>,
    layers: BTreeSet<u32>,
    puller_free_at: SimTime,
}

impl ImageCache {
    /// When `image` is (or will be) present, if it is pulled or being pulled.
    pub fn present_at(&self, image: &str) -> Option<SimTime> {
        self.images.get(image).copied()
    }

    /// Marks an image present from `at` (preloaded images).
    pub fn preload(&mut self, catalog: &ImageCatalog, image: &str, at: SimTime) {
        if let Some(layers) = catalog.layers(image) {
            self.layers.extend(layers.iter().copied());
        }
        self.images.insert(image.to_string(), at);
    }

    /// Queues a pull of `image` (known to the catalog) at `now`; returns when it completes.
    /// Layers already present, or being pulled earlier in the queue, are not fetched again.
    pub fn pull(&mut self, catalog: &ImageCatalog, image: &str, now: SimTime, bytes_per_sec: u64) -> SimTime {
        let layers = catalog.layers(image).unwrap_or(&[]);
        let bytes: u64 =
            layers.iter().filter(|l| !self.layers.contains(l)).map(|l| catalog.layer_size(*l)).sum();
        // ceil(bytes · 1e9 / rate) ns, in u128 so nothing overflows.
        let rate = u128::from(bytes_per_sec.max(1));
        let nanos = (u128::from(bytes) * 1_000_000_000).div_ceil(rate);
        let start = now.max(self.puller_free_at);
        let done = start.saturating_add(SimDuration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)));
        self.puller_free_at = done;
        self.layers.extend(layers.iter().copied());
        self.images.entry(image.to_string()).or_insert(done); // present earlier: stays so
        done
    }

    /// The node crashed at `now`: pulls still under way are lost (their partial layers too);
    /// images already on disk stay.
    pub fn abort_pulls(&mut self, catalog: &ImageCatalog, now: SimTime) {
        self.images.retain(|_, at| *at <= now);
        self.layers = self
            .images
            .keys()
            .filter_map(|image| catalog.layers(image))
            .flat_map(|layers| layers.iter().copied())
            .collect();
        self.puller_free_at = self.puller_free_at.min(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_registry_has_every_unlisted_image_but_the_missing_ones() {
        let mut c = ImageCatalog::open();
        c.add_image("web:v1", &[("base", 100)]).add_missing("typo:v1");
        assert_eq!(c.layers("web:v1").map(<[u32]>::len), Some(1));
        assert_eq!(c.layers("anything:v9"), Some(&[][..]));
        assert_eq!(c.layers("typo:v1"), None);
        assert_eq!(ImageCatalog::new().layers("anything:v9"), None);
    }

    const MB: u64 = 1_000_000;

    #[test]
    fn pulls_share_layers_and_wait_for_each_other() {
        let mut cat = ImageCatalog::new();
        cat.add_image("web:v1", &[("base", 80 * MB), ("web1", 20 * MB)]);
        cat.add_image("web:v2", &[("base", 80 * MB), ("web2", 30 * MB)]);
        let mut cache = ImageCache::default();
        // 100 MB at 50 MB/s = 2 s.
        let t1 = cache.pull(&cat, "web:v1", SimTime::ZERO, 50 * MB);
        assert_eq!(t1, SimTime::from_secs(2));
        // v2 asked at 1 s: waits for the puller (2 s), then only its 30 MB layer: 0.6 s.
        let t2 = cache.pull(&cat, "web:v2", SimTime::from_secs(1), 50 * MB);
        assert_eq!(t2, SimTime::from_millis(2600));
        assert_eq!(cache.present_at("web:v1"), Some(t1));
        // A re-pull (policy Always) of a present image fetches nothing.
        assert_eq!(cache.pull(&cat, "web:v1", SimTime::from_secs(10), 50 * MB), SimTime::from_secs(10));
        assert_eq!(cache.present_at("web:v1"), Some(t1));
    }
}
