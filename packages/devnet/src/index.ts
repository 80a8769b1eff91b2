/** @keyline/devnet — filled by the devnet module. */
export const DEVNET_PACKAGE = '@keyline/devnet';
