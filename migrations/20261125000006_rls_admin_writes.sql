-- Who may change who has access. The spec's standard pattern lets any member of a clinic write
-- `user_clinic_access` (grant anyone any role, promote themselves to owner) and update the
-- `clinics` row (billing ids, clerk_org_id). Membership and tenant settings are administered by
-- owners/admins: reads stay as the spec says; writes to these two tables need an admin role,
-- either from `user_clinic_access.role` (owner, admin) or from the Clerk organization role claim
-- (`org_role` = "org:admin" in v1 tokens, `o.rol` = "admin" in v2 tokens).
-- Deviation #13 in docs/schema-deviations.md.

CREATE OR REPLACE FUNCTION get_user_admin_clinic_ids()
RETURNS SETOF UUID
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT uca.clinic_id
  FROM user_clinic_access uca
  JOIN users u ON u.id = uca.user_id
  WHERE u.clerk_user_id = auth.jwt() ->> 'sub'
    AND uca.role IN ('owner', 'admin')
  UNION
  SELECT id
  FROM clinics
  WHERE clerk_org_id IS NOT NULL
    AND (
      (clerk_org_id = auth.jwt() ->> 'org_id' AND auth.jwt() ->> 'org_role' IN ('org:admin', 'admin'))
      OR (clerk_org_id = auth.jwt() -> 'o' ->> 'id' AND auth.jwt() -> 'o' ->> 'rol' IN ('org:admin', 'admin'))
    )
$$;

GRANT EXECUTE ON FUNCTION get_user_admin_clinic_ids() TO anon, authenticated, service_role;

DROP POLICY "Users can insert into their clinic" ON user_clinic_access;
DROP POLICY "Users can update their clinic data" ON user_clinic_access;
DROP POLICY "Users can delete their clinic data" ON user_clinic_access;
DROP POLICY "Org members can insert" ON user_clinic_access;
DROP POLICY "Org members can update" ON user_clinic_access;
DROP POLICY "Org members can delete" ON user_clinic_access;

CREATE POLICY "Admins can grant access" ON user_clinic_access FOR INSERT
  WITH CHECK (clinic_id IN (SELECT get_user_admin_clinic_ids()));
CREATE POLICY "Admins can change access" ON user_clinic_access FOR UPDATE
  USING (clinic_id IN (SELECT get_user_admin_clinic_ids()));
CREATE POLICY "Admins can revoke access" ON user_clinic_access FOR DELETE
  USING (clinic_id IN (SELECT get_user_admin_clinic_ids()));

DROP POLICY "Users can update their clinics" ON clinics;
CREATE POLICY "Admins can update their clinics" ON clinics FOR UPDATE
  USING (id IN (SELECT get_user_admin_clinic_ids()));
