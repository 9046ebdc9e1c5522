//! `k8s-openapi` objects → kubesim's compact API structs, with the defaulting and validation the
//! loaders own. Each function returns a [`FieldError`](crate::error::FieldError) naming the field;
//! the loader adds file and object.

pub(crate) mod common;
pub(crate) mod node;
pub(crate) mod pod;
pub(crate) mod services;
pub(crate) mod workloads;
