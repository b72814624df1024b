// The backend contract: everything in daemon/ may import it; it imports nothing but common/.
export * from './boot';
export * from './capabilities';
export * from './driver';
export * from './gpu';
export * from './labels';
export * from './spec';
export * from './volumeData';
