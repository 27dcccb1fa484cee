// Kubernetes resource quantities (resource.Quantity), read as bytes. The grammar is
// Kubernetes' own: a decimal number, then a binary suffix (Ki..Ei), a decimal suffix
// (n u m "" k M G T P E) or an exponent (e9, E-3). There is no uppercase "K": the API
// server rejects "1K" in a pod, so we do too rather than guess.
import { argType, argValue } from '../core/errors';

const MiB = 1024 * 1024;

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

const BINARY: Record<string, bigint> = { Ki: 10n, Mi: 20n, Gi: 30n, Ti: 40n, Pi: 50n, Ei: 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

// Beyond any memory a machine has; also keeps 10n ** exponent cheap for hostile input.
const MAX_DECIMAL_EXPONENT = 30;
const MAX_LENGTH = 64;

/**
 * Bytes in a Kubernetes memory quantity ("512Mi", "1.5Gi", "1G", "1e9", "134217728", or a
 * JSON number). Fractions of a byte round up, as Kubernetes' Quantity.Value() does.
 * Throws ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE on anything else, and on negative values.
 */
export function parseQuantity(value: unknown, name = 'quantity'): number {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw argValue(name, 'must be a finite number of bytes', value);
    text = String(value);
    if (/e/i.test(text)) text = BigInt(Math.ceil(value)).toString(); // 1e21 prints as an exponent
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    throw argType(name, 'a Kubernetes quantity string or a number', value);
  }
  const m = text.length <= MAX_LENGTH ? QUANTITY.exec(text) : null;
  if (!m) throw argValue(name, 'must be a Kubernetes quantity such as 512Mi, 1Gi, 1G or 1e9', value);
  const [, sign, number, suffix = ''] = m as unknown as [string, string, string, string | undefined];

  const [whole, fraction = ''] = number.split('.') as [string, string | undefined];
  let mantissa = BigInt((whole || '0') + fraction);
  let exponent = -fraction.length; // value = mantissa * 10^exponent * 2^shift
  let shift = 0n;
  if (suffix in BINARY) shift = BINARY[suffix]!;
  else if (suffix in DECIMAL) exponent += DECIMAL[suffix]!;
  else exponent += Number(suffix.slice(1));

  if (sign === '-' && mantissa !== 0n) throw argValue(name, 'must not be negative', value);
  if (exponent > MAX_DECIMAL_EXPONENT) throw argValue(name, 'is too large for a memory size', value);
  mantissa <<= shift;
  let bytes: bigint;
  if (exponent >= 0) {
    bytes = mantissa * 10n ** BigInt(exponent);
  } else {
    // Tiny exponents (1e-999) round up to one byte or are zero; never build a huge power.
    const divisor = 10n ** BigInt(Math.min(-exponent, mantissa.toString().length + 1));
    bytes = mantissa === 0n ? 0n : (mantissa + divisor - 1n) / divisor;
  }
  return Number(bytes);
}

/** Whole MiB, rounded down, as a Kubernetes quantity ("512Mi"). */
export function formatMiB(bytes: number): string {
  // Through BigInt: from 1e21 a number prints as an exponent, which a quantity cannot be.
  return `${BigInt(Math.floor(bytes / MiB))}Mi`;
}

export { MiB };
