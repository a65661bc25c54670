"""The eventcrm AWS stack: DynamoDB, the API and worker Lambda functions, an HTTP API."""
