"""The DynamoDB adapter: one table (single-table design), see docs/dynamodb.md."""
