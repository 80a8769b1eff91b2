/** Tables of signing: transactions being built, signed and broadcast, devices, the pause switch. */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the signing module's migration
export interface SigningSchema {}
