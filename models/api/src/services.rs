//! Services (`v1`): the selector and ports the EndpointSlice controller reads.

use crate::meta::{Labels, ObjectMeta};
use crate::scheduling::Protocol;

/// `spec.ports[].targetPort`: a number or the name of a container port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetPort {
    /// A port number.
    Number(i32),
    /// A named container port, resolved per pod.
    Name(String),
}

/// `spec.ports[]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    /// Port name (required when there are several ports).
    pub name: String,
    /// The Service's port.
    pub port: i32,
    /// Where traffic goes on the pod (defaults to `port`).
    pub target_port: TargetPort,
    /// Protocol (default TCP).
    pub protocol: Protocol,
}

/// A Service (`v1`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Service {
    /// Metadata.
    pub meta: ObjectMeta,
    /// `spec.selector`; `None` (or empty) means endpoints are managed by hand, not by the
    /// controller.
    pub selector: Option<Labels>,
    /// `spec.ports`.
    pub ports: Vec<ServicePort>,
    /// `spec.publishNotReadyAddresses`: not-ready pods are published as ready.
    pub publish_not_ready_addresses: bool,
}
