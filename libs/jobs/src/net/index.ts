export * from './address-policy';
export * from './secret-box';
export * from './webhook-target';
export * from './listen-address';
