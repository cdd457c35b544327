// A community as the tests need it, made with the admin commands: the community, its roster, console
// accounts and enrolled phones.
import { Phone } from './phone.mjs';
import { roster } from './fixtures.mjs';

/** The password every test account gets (the console asks for at least 10 characters). */
export const PASSWORD = 'gridline-e2e-2026';

/**
 * Sets up a community on `server`: `name`, a roster over `grids`, console accounts `staff` (`[{user, role}]`)
 * and grid-leader phones `phones` (`[{user, grids}]`), enrolled and synced once. Pass `id` to use a community that exists already.
 * Returns `{id, households, staff, phones}` (`phones` by user name).
 */
export async function setUpCommunity(server, { id, name, grids = ['G03'], staff = [], phones = [] }) {
  const communityId = id ?? (await server.createCommunity(name));
  const r = roster(grids);
  await server.importRoster(communityId, r.csv);
  const accounts = {};
  for (const s of staff) {
    accounts[s.user] = await server.addStaff({ community: communityId, user: s.user, role: s.role, password: PASSWORD });
  }
  const enrolled = {};
  for (const p of phones) {
    const code = await server.enrollmentCode({ community: communityId, user: p.user, grids: p.grids ?? grids });
    enrolled[p.user] = await Phone.enroll(server, code, p.user);
    // The first sync brings the phone its grids' roster.
    await enrolled[p.user].sync();
  }
  return { id: communityId, households: r.households, staff: accounts, phones: enrolled };
}

/** Removes the phones' stores. */
export async function discardPhones(community) {
  for (const p of Object.values(community?.phones ?? {})) await p.discard();
}
