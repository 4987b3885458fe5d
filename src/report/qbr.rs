//! The quarterly business review for one customer (placeholder until the customer queries land).
