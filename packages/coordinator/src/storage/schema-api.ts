/** Tables of the HTTP API: API keys (hashed) and their roles. */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the api module's migration
export interface ApiSchema {}
