"""Settings from the environment and the declarative YAML files (feeds, topics, subscribers), checked on load."""
