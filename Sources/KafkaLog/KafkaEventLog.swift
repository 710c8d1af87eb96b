// Placeholder until the Kafka log lands.
