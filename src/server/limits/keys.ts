// Store keys of the rate-limit layers, spelled once.
export const keys = {
  ban: (ip: string) => `ban:ip:${ip}`,
  ipBlock: (ip: string) => `block:ip:${ip}`,
  userBlock: (user: string) => `block:user:${user}`,
  authBlock: (ip: string) => `block:auth:${ip}`,
  attempts: (ip: string) => `attempts:${ip}`,
  authFailures: (ip: string) => `authfail:${ip}`,
  userSockets: (user: string) => `sockets:user:${user}`,
  userRate: (user: string) => `rate:user:${user}`,
  typeRate: (type: string, user: string) => `rate:type:${type}:${user}`,
  offences: (key: string) => `offences:${key}`,
};
