/**
 * Weighted fair sharing by virtual time, one level of it (the tenants of a class, or the
 * groups of a tenant). Each member has a virtual time: the device cost it was charged divided by
 * its weight; the scheduler serves the active member with the least. A member that becomes active
 * starts at max(its own virtual time, the level's clock − a bounded credit), where the clock is the
 * least virtual time among the active members (kept while none is): a member cannot bank credit
 * while idle, nor is a newcomer made to wait for others' history.
 */
export class FairMember {
  /** Cost charged so far over the weight. */
  vt = 0;
  /** Share weight (> 0): weight 2 gets twice the cost of weight 1 while both are active. */
  weight = 1;
  /** Active things under this member (calls of a group, groups of a tenant). */
  active = 0;
  /** Calls alive under this member (pending, tokenizing or running). */
  live = 0;
  /** Order of activation: breaks ties between equal virtual times (the earlier first). */
  since = 0;
  /** The credit it last started with (bounds how far behind the clock forgetting it is harmless). */
  credit = 0;

  constructor(readonly key: string) {}
}

export class FairLevel<M extends FairMember = FairMember> {
  /** The least virtual time among active members; kept while none is active. */
  clock = 0;
  private seq = 0;
  private readonly members = new Map<string, M>();

  constructor(private readonly create: (key: string) => M) {}

  member(key: string): M {
    let m = this.members.get(key);
    if (!m) {
      m = this.create(key);
      // No history: it starts where activation puts a newcomer (clock − credit).
      m.vt = -Infinity;
      this.members.set(key, m);
    }
    return m;
  }

  /** One more active thing under `m`; on 0 → 1 it joins the competition (see the header). */
  activate(m: M, credit: number): void {
    if (m.active++ > 0) return;
    // The clock among the others (this member is not counted yet: its old virtual time is no measure).
    m.active = 0;
    this.advanceClock();
    m.active = 1;
    m.vt = Math.max(m.vt, this.clock - credit);
    m.credit = credit;
    m.since = this.seq++;
    this.forgetIdle();
  }

  deactivate(m: M): void {
    // While it was active its virtual time counted: the clock keeps up with a member served alone.
    this.advanceClock();
    m.active--;
  }

  charge(m: M, cost: number): void {
    m.vt += cost / m.weight;
  }

  /** Orders two active members: least virtual time, then the earlier activation. */
  static compare(a: FairMember, b: FairMember): number {
    return a.vt - b.vt || a.since - b.since;
  }

  private advanceClock(): void {
    let least = Infinity;
    for (const m of this.members.values()) if (m.active > 0 && m.vt < least) least = m.vt;
    if (least !== Infinity && least > this.clock) this.clock = least;
  }

  /**
   * Members with nothing alive whose virtual time is at or below where they would restart anyway
   * (clock − credit) carry no state worth keeping: a long-lived worker sees a new group per job.
   */
  private forgetIdle(): void {
    for (const [key, m] of this.members) {
      if (m.active === 0 && m.live === 0 && m.vt <= this.clock - m.credit) this.members.delete(key);
    }
  }

  get size(): number {
    return this.members.size;
  }
}
