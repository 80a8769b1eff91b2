/** Tables of the vault: wallet, addresses, UTXOs and their reservations. */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the vault module's migration
export interface VaultSchema {}
