// Errors the kernel returns to a configuring tool: an errno and, where the kernel
// fills one in, an extended-ack message (iproute2 prints it as "Error: ...").

export type Errno =
  | "EPERM"
  | "ENOENT"
  | "ESRCH"
  | "EEXIST"
  | "ENODEV"
  | "EINVAL"
  | "ENOSPC"
  | "EBUSY"
  | "ENETUNREACH"
  | "ENETDOWN"
  | "EADDRNOTAVAIL"
  | "EOPNOTSUPP"
  | "ELOOP"
  | "ENOTSUP"
  | "ENOTCONN";

const STRERROR: Record<Errno, string> = {
  EPERM: "Operation not permitted",
  ENOENT: "No such file or directory",
  ESRCH: "No such process",
  EEXIST: "File exists",
  ENODEV: "No such device",
  EINVAL: "Invalid argument",
  ENOSPC: "No space left on device",
  EBUSY: "Device or resource busy",
  ENETUNREACH: "Network is unreachable",
  ENETDOWN: "Network is down",
  EADDRNOTAVAIL: "Cannot assign requested address",
  EOPNOTSUPP: "Operation not supported",
  ELOOP: "Too many levels of symbolic links",
  ENOTSUP: "Operation not supported",
  ENOTCONN: "Transport endpoint is not connected",
};

export function strerror(errno: Errno): string {
  return STRERROR[errno];
}

export class KernelError extends Error {
  constructor(
    readonly errno: Errno,
    readonly extack: string | null = null,
  ) {
    super(extack ?? strerror(errno));
    this.name = "KernelError";
  }
}
