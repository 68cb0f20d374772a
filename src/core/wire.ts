// Bytes on the migration stream (migration/ram.c): each page has a be64 header (offset | flags);
// a zero page adds one byte, a normal page its contents. Each iteration ends with an 8-byte EOS.

export const pageHeaderBytes = 8;
export const endOfSectionBytes = 8;

export function zeroPageBytes(): number {
  return pageHeaderBytes + 1;
}

export function normalPageBytes(pageSize: number): number {
  return pageHeaderBytes + pageSize;
}
