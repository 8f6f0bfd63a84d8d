import { describe, expect, it } from 'vitest';
import { classifyAddress, parseIPv4, parseIPv6, formatIp } from '../../../src/core/net/ip';
import { checkAddress, checkHost, checkWebhookUrl, parseCidr, parseCidrList } from '../../../src/core/net/destination';

describe('IP parsing', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['10.1', '10.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
  ])('IPv4 %s is %s', (text, canonical) => {
    expect(formatIp(parseIPv4(text)!)).toBe(canonical);
  });

  it.each(['256.0.0.1', '1.2.3.4.5', '08.0.0.1', 'abc', '4294967296', '', '1..2'])('%s is not IPv4', (text) => {
    expect(parseIPv4(text)).toBeNull();
  });

  it.each([
    ['::1', '0:0:0:0:0:0:0:1'],
    ['[::1]', '0:0:0:0:0:0:0:1'],
    ['::ffff:127.0.0.1', '0:0:0:0:0:ffff:7f00:1'],
    ['::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1'],
    ['fe80::1%eth0', 'fe80:0:0:0:0:0:0:1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['::', '0:0:0:0:0:0:0:0'],
  ])('IPv6 %s is %s', (text, canonical) => {
    expect(formatIp(parseIPv6(text)!)).toBe(canonical);
  });

  it.each(['1:2:3:4:5:6:7:8:9', '1::2::3', 'gggg::1', '12345::', 'example.com'])('%s is not IPv6', (text) => {
    expect(parseIPv6(text)).toBeNull();
  });
});

describe('address classification', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['2130706433', 'loopback'],
    ['0x7f.1', 'loopback'],
    ['017700000001', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['2002:7f00:1::', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0', 'unspecified'],
    ['::', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['fec0::1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fd00::1', 'unique-local'],
    ['fc00::1', 'unique-local'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['169.254.169.254', 'metadata'],
    ['0xa9fea9fe', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['2606:4700::1111', 'public'],
    ['::ffff:8.8.8.8', 'public'],
  ])('%s is %s', (text, cls) => {
    expect(classifyAddress(text)).toBe(cls);
  });

  it('a host name is not an address', () => {
    expect(classifyAddress('example.com')).toBeNull();
  });
});

describe('destination policy', () => {
  const allow = parseCidrList(['127.0.0.0/8', '10.0.0.0/8', 'fd00::/8']).cidrs;

  it('admits private ranges only when WEBHOOK_ALLOW_CIDRS lists them', () => {
    expect(checkAddress('127.0.0.1').ok).toBe(false);
    expect(checkAddress('127.0.0.1', allow).ok).toBe(true);
    expect(checkAddress('::ffff:127.0.0.1', allow).ok).toBe(true);
    expect(checkAddress('10.2.3.4', allow).ok).toBe(true);
    expect(checkAddress('fd00::1', allow).ok).toBe(true);
    expect(checkAddress('192.168.0.1', allow).ok).toBe(false);
  });

  it('never admits metadata, unspecified or multicast addresses, whatever the allow list', () => {
    const everything = parseCidrList(['0.0.0.0/0', '::/0']).cidrs;
    expect(checkAddress('169.254.169.254', everything).ok).toBe(false);
    expect(checkAddress('0.0.0.0', everything).ok).toBe(false);
    expect(checkAddress('224.0.0.1', everything).ok).toBe(false);
    expect(checkHost('metadata.google.internal', everything).ok).toBe(false);
  });

  it.each([
    'http://127.0.0.1:6379/',
    'http://localhost/',
    'http://LOCALHOST./x',
    'http://app.localhost/',
    'http://[::1]/',
    'http://0.0.0.0/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://017700000001/',
    'http://169.254.169.254/latest/meta-data/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://metadata/',
    'http://10.0.0.1/',
    'http://[::ffff:127.0.0.1]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://crm/',
    'http://printer.local/',
    'ftp://example.com/',
    'http://user:pw@example.com/',
  ])('refuses the webhook URL %s', (url) => {
    const v = checkWebhookUrl(url);
    expect(v.ok).toBe(false);
  });

  it.each(['https://example.com/hook', 'http://93.184.216.34:8080/x', 'https://[2606:4700::1111]/'])('accepts the public webhook URL %s', (url) => {
    expect(checkWebhookUrl(url).ok).toBe(true);
  });

  it('parses CIDRs strictly and refuses garbage', () => {
    expect(parseCidr('10.0.0.0/8')?.text).toBe('10.0.0.0/8');
    expect(parseCidr('127.0.0.1')?.text).toBe('127.0.0.1/32');
    expect(parseCidr('fd00::/8')?.text).toBe('fd00:0:0:0:0:0:0:0/8');
    expect(parseCidr('10.0.0.0/33')).toBeNull();
    expect(parseCidr('0x7f.1/8')).toBeNull();
    expect(parseCidrList(['10.0.0.0/8', 'nope']).bad).toBe('nope');
  });
});
