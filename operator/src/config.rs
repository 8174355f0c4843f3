//! The control plane's YAML config file (see [`Config`]).
