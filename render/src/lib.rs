//! strait-render: turns APISIX-style stream route objects into nginx stream configuration.
#![warn(missing_docs)]
